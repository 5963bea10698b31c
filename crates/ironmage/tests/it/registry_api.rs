//! The registry workflow API over real HTTP on loopback: policy and gates, the approval
//! workflow, rollback, compare, keep-latest, deletion, the audit log with actors, and clear
//! errors for unknown models/versions, illegal transitions and bad names.

use crate::common::TestStack;
use ironmage_core::store::{ArtifactRefs, NewVersion};
use serde_json::{json, Value};

async fn register(t: &TestStack, model: &str, auc: f64, depth: i64) -> i64 {
    let v = t
        .stack
        .platform
        .registry
        .register_version(NewVersion {
            model: model.into(),
            label: "v".into(),
            run_id: None,
            dataset_version: None,
            artifacts: ArtifactRefs {
                model: "sha256:m".into(),
                scaler: "sha256:s".into(),
                schema: "sha256:f".into(),
            },
            metrics: json!({"auc_score": auc}).as_object().unwrap().clone(),
            hyperparameters: json!({"max_depth": depth}).as_object().unwrap().clone(),
            lineage: json!({}),
        })
        .await
        .unwrap();
    v.version
}

fn assert_error(result: &(u16, Value), status: u16, fragment: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    let message = result.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_approvals_rollback_and_audit_over_http() {
    let t = TestStack::start().await;
    let policy = json!({"gates": [{"metric": "auc_score", "op": ">=", "threshold": 0.85}], "required_approvals": 2});
    let r = t
        .send_as(
            "PUT",
            "/api/models/churn/policy",
            Some("lead"),
            Some(policy),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["updated_by"], "lead");

    assert_eq!(register(&t, "churn", 0.9, 6).await, 1);
    assert_eq!(register(&t, "churn", 0.8, 8).await, 2);
    assert_eq!(register(&t, "churn", 0.95, 10).await, 3);
    let (_, v2) = t
        .send_as("GET", "/api/models/churn/versions/2", None, None)
        .await;
    assert_eq!(
        (v2["stage"].as_str(), v2["gate_status"].as_str()),
        (Some("None"), Some("failed"))
    );
    assert_eq!(v2["gate_reason"], "auc_score 0.8 is not >= 0.85");

    // v1 to Production through two approvals.
    let req = t
        .send_as(
            "POST",
            "/api/models/churn/requests",
            Some("alice"),
            Some(json!({"version": 1, "reason": "first model"})),
        )
        .await;
    assert_eq!(req.0, 201, "{}", req.1);
    let id = req.1["id"].as_i64().unwrap();
    let approve = format!("/api/models/churn/requests/{id}/approve");
    let first = t
        .send_as("POST", &approve, None, Some(json!({"user": "bob"})))
        .await;
    assert_eq!(
        (first.0, first.1["promoted"].is_null()),
        (200, true),
        "{}",
        first.1
    );
    assert_error(
        &t.send_as("POST", &approve, None, Some(json!({"user": "bob"})))
            .await,
        409,
        "already approved",
    );
    let second = t
        .send_as("POST", &approve, Some("carol"), Some(json!({})))
        .await;
    assert_eq!(second.1["promoted"]["stage"], "Production", "{}", second.1);

    // v3 requested, then rejected; a rejected request cannot be approved.
    let req3 = t
        .send_as(
            "POST",
            "/api/models/churn/requests",
            Some("alice"),
            Some(json!({"version": 3, "reason": "better"})),
        )
        .await;
    let id3 = req3.1["id"].as_i64().unwrap();
    let rejected = t
        .send_as(
            "POST",
            &format!("/api/models/churn/requests/{id3}/reject"),
            Some("dan"),
            Some(json!({"reason": "needs a drift check"})),
        )
        .await;
    assert_eq!(rejected.1["status"], "rejected");
    assert_error(
        &t.send_as(
            "POST",
            &format!("/api/models/churn/requests/{id3}/approve"),
            Some("bob"),
            Some(json!({})),
        )
        .await,
        409,
        "already rejected",
    );
    let (_, listed) = t
        .send_as(
            "GET",
            "/api/models/churn/requests?status=rejected",
            None,
            None,
        )
        .await;
    assert_eq!(listed["requests"].as_array().unwrap().len(), 1);

    // The policy binds direct transitions to Production too: refused while it asks for
    // approvals, allowed once it asks for none.
    let refused = t
        .send_as(
            "POST",
            "/api/models/churn/versions/3/transition",
            Some("erin"),
            Some(json!({"stage": "Production", "reason": "hotfix"})),
        )
        .await;
    assert_error(&refused, 409, "needs 2 approval(s)");
    let relaxed = t.send_as("PUT",
        "/api/models/churn/policy",
        Some("lead"),
        Some(json!({"gates": [{"metric": "auc_score", "op": ">=", "threshold": 0.85}], "required_approvals": 0})),
    )
    .await;
    assert_eq!(relaxed.0, 200, "{}", relaxed.1);

    // Direct transition (audited with the header's user), then rollback to v1.
    let moved = t
        .send_as(
            "POST",
            "/api/models/churn/versions/3/transition",
            Some("erin"),
            Some(json!({"stage": "Production", "reason": "hotfix"})),
        )
        .await;
    assert_eq!(moved.0, 200, "{}", moved.1);
    let back = t
        .send_as(
            "POST",
            "/api/models/churn/rollback",
            Some("erin"),
            Some(json!({"version": 1, "reason": "v3 misbehaves"})),
        )
        .await;
    assert_eq!(back.1["stage"], "Production", "{}", back.1);
    assert_error(
        &t.send_as(
            "POST",
            "/api/models/churn/rollback",
            None,
            Some(json!({"version": 1, "reason": "again"})),
        )
        .await,
        409,
        "already in Production",
    );

    // Compare, keep-latest, delete.
    let (_, cmp) = t
        .send_as("GET", "/api/models/churn/compare?a=1&b=3", None, None)
        .await;
    let auc = cmp["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "auc_score")
        .unwrap()
        .clone();
    assert_eq!(auc["better"], "b");
    assert!((auc["delta"].as_f64().unwrap() - 0.05).abs() < 1e-9);
    assert_eq!(cmp["params"][0]["differs"], true);
    assert_error(
        &t.send_as(
            "DELETE",
            "/api/models/churn/versions/1",
            Some("ops"),
            Some(json!({"reason": "x"})),
        )
        .await,
        409,
        "is in Production",
    );
    let del = t
        .send_as(
            "DELETE",
            "/api/models/churn/versions/2",
            Some("ops"),
            Some(json!({"reason": "failed its gate"})),
        )
        .await;
    assert_eq!(del.0, 200, "{}", del.1);
    assert_error(
        &t.send_as("GET", "/api/models/churn/versions/2", None, None)
            .await,
        404,
        "has no version 2",
    );

    // The audit log: every line has who/from/to/why; the approved promotion lists approvers.
    let (_, audit) = t
        .send_as("GET", "/api/models/churn/transitions", None, None)
        .await;
    let lines = audit["transitions"].as_array().unwrap();
    for line in lines {
        for key in ["actor", "from_stage", "to_stage", "reason", "created_at"] {
            assert!(!line[key].as_str().unwrap_or_default().is_empty(), "{line}");
        }
    }
    let approved = lines.iter().find(|l| l["request_id"] == id).unwrap();
    assert_eq!(approved["approvers"], json!(["bob", "carol"]));
    let actors: Vec<&str> = lines.iter().map(|l| l["actor"].as_str().unwrap()).collect();
    for who in ["system", "gate", "carol", "erin", "ops"] {
        assert!(actors.contains(&who), "{who} missing from {actors:?}");
    }
    assert!(lines
        .iter()
        .any(|l| l["reason"] == "rollback: v3 misbehaves"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_problem() {
    let t = TestStack::start().await;
    assert_error(
        &t.send_as("GET", "/api/models/nope/policy", None, None)
            .await,
        404,
        "model \"nope\" not found",
    );
    assert_error(
        &t.send_as("GET", "/api/models/nope/requests", None, None)
            .await,
        404,
        "not found",
    );
    assert_error(
        &t.send_as(
            "POST",
            "/api/models/nope/rollback",
            None,
            Some(json!({"version": 1, "reason": "x"})),
        )
        .await,
        404,
        "not found",
    );
    let bad_name = t
        .send_as(
            "PUT",
            "/api/models/bad%20name/policy",
            None,
            Some(json!({})),
        )
        .await;
    assert_error(&bad_name, 400, "invalid model name");
    assert_eq!(bad_name.1["field"], "model");
    register(&t, "m", 0.9, 3).await;
    assert_error(
        &t.send_as("GET", "/api/models/m/compare?a=1&b=7", None, None)
            .await,
        404,
        "has no version 7",
    );
    assert_error(
        &t.send_as("GET", "/api/models/m/requests/42", None, None)
            .await,
        404,
        "no approval request 42",
    );
    // Only a Staging version can be proposed: v1 is in None (no gates).
    assert_error(
        &t.send_as(
            "POST",
            "/api/models/m/requests",
            None,
            Some(json!({"version": 1, "reason": "x"})),
        )
        .await,
        409,
        "only a Staging version",
    );
    let r = t
        .send_as(
            "PUT",
            "/api/models/m/policy",
            None,
            Some(json!({"required_approvals": 99})),
        )
        .await;
    assert_error(&r, 400, "between 0 and 10");
    assert_eq!(r.1["field"], "required_approvals");
    let r = t
        .send_as(
            "PUT",
            "/api/models/m/policy",
            None,
            Some(json!({"gates": [{"metric": "auc", "op": "=>", "threshold": 1}]})),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (400, Some("gates[0].op")),
        "{}",
        r.1
    );
    let r = t
        .send_as(
            "POST",
            "/api/models/m/rollback",
            None,
            Some(json!({"version": 1, "reason": " "})),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (400, Some("reason")),
        "{}",
        r.1
    );
    let r = t
        .send_as(
            "POST",
            "/api/models/m/versions/1/transition",
            None,
            Some(json!({"stage": "Live", "reason": "x"})),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (400, Some("stage")),
        "{}",
        r.1
    );
    assert_error(
        &t.send_as("POST", "/api/models/m/keep-latest", None, None)
            .await,
        400,
        "sets no keep_latest_n",
    );
    let r = t
        .send_as(
            "POST",
            "/api/models/m/keep-latest",
            None,
            Some(json!({"n": 1})),
        )
        .await;
    assert_eq!((r.0, &r.1["archived"]), (200, &json!([])), "{}", r.1);
}
