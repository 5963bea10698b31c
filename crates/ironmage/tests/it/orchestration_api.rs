//! Triggers, cancel and re-run over real HTTP on loopback, against a stack with every role
//! (the scheduler adds the project's triggers; executors run what the triggers start).

use crate::common::TestStack;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_are_created_fired_toggled_and_deleted_over_http() {
    let t = TestStack::start().await;
    let (status, created) = t
        .send(
            "POST",
            "/api/pipelines/demo_mlops/triggers",
            Some(json!({
                "name": "hook", "kind": "api", "variables": {"seed": 7}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "demo_mlops.hook");
    assert_eq!(created["kind"], "api");

    // The API trigger: the body's variables over the trigger's.
    let (status, fired) = t
        .send(
            "POST",
            "/api/triggers/demo_mlops.hook/runs",
            Some(json!({"variables": {"rows": 500}})),
        )
        .await;
    assert_eq!(status, 202, "{fired}");
    let run = t.wait_run(fired["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["trigger"], "demo_mlops.hook");
    assert_eq!(
        (
            run["variables"]["seed"].clone(),
            run["variables"]["rows"].clone()
        ),
        (json!(7), json!(500))
    );
    let (_, hook) = t.send("GET", "/api/triggers/demo_mlops.hook", None).await;
    assert_eq!(hook["last_run_id"], fired["run_id"]);

    let (status, off) = t
        .send(
            "PATCH",
            "/api/triggers/demo_mlops.hook",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!((status, off["enabled"].clone()), (200, json!(false)));
    let (status, refused) = t
        .send("POST", "/api/triggers/demo_mlops.hook/runs", None)
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("disabled"));

    // The scheduler added the project's trigger, disabled.
    let (_, listed) = t
        .send("GET", "/api/triggers?pipeline=demo_mlops", None)
        .await;
    let ids: Vec<&str> = listed["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"demo_mlops.hook"), "{listed}");

    let (status, _) = t
        .send("DELETE", "/api/triggers/demo_mlops.hook", None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = t.send("GET", "/api/triggers/demo_mlops.hook", None).await;
    assert_eq!((status, gone["code"].clone()), (404, json!("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_trigger_requests_name_the_field() {
    let t = TestStack::start().await;
    for (body, field) in [
        (
            json!({"name": "n", "kind": "cron", "cron": "every sunday"}),
            "cron",
        ),
        (
            json!({"name": "n", "kind": "cron", "cron": "0 2 * * *", "timezone": "Moon/Base"}),
            "timezone",
        ),
        (json!({"name": "n", "kind": "interval"}), "every_secs"),
        (json!({"name": "n", "kind": "api", "path": "x"}), "path"),
        (json!({"name": "n", "kind": "hourly"}), "kind"),
        (json!({"kind": "api"}), "name"),
        (
            json!({"name": "n", "kind": "api", "variables": {"sed": 1}}),
            "variables.sed",
        ),
        (
            json!({"name": "n", "kind": "api", "surprise": 1}),
            "surprise",
        ),
    ] {
        let (status, err) = t
            .send(
                "POST",
                "/api/pipelines/demo_mlops/triggers",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["field"].as_str().unwrap_or_default().contains(field),
            "{body}: {err}"
        );
    }
    let (status, _) = t
        .send(
            "POST",
            "/api/pipelines/nope/triggers",
            Some(json!({"name": "n", "kind": "api"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = t
        .send(
            "PATCH",
            "/api/triggers/demo_mlops.weekly_retrain",
            Some(json!({"enabled": "yes"})),
        )
        .await;
    assert_eq!(status, 400);
    let (_, listed) = t.send("GET", "/api/triggers", None).await;
    assert!(
        listed["triggers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["name"] != "n"),
        "nothing half-written: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_that_ended_cannot_be_cancelled_and_only_failed_ones_rerun() {
    let t = TestStack::start().await;
    let run = t.run_demo(json!({})).await;
    assert_eq!(run["status"], "success", "{run}");
    let id = run["id"].as_str().unwrap();
    let (status, err) = t
        .send("POST", &format!("/api/runs/{id}/cancel"), None)
        .await;
    assert_eq!(
        (status, err["code"].clone()),
        (409, json!("conflict")),
        "{err}"
    );
    let (status, err) = t.send("POST", &format!("/api/runs/{id}/rerun"), None).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("only a failed or cancelled run"),
        "{err}"
    );
    let (status, _) = t.send("POST", "/api/runs/nope/cancel", None).await;
    assert_eq!(status, 404);
}

/// Pipelines are created, validated, edited (with their block files) and deleted over REST,
/// and what was written runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_and_their_files_are_edited_over_http() {
    let t = TestStack::start().await;
    let yaml = "blocks:\n  - {name: load, kind: csv, config: {path: pipelines/edited/rows.csv}}\n  - name: doubled\n    kind: sql_transform\n    upstream: [load]\n    config: {query: 'SELECT x, x * 2 AS y FROM load'}\n";

    // A syntax error and a bad config answer 400 with the line; nothing is written.
    let (status, bad) = t
        .send(
            "POST",
            "/api/pipelines",
            Some(json!({"name": "edited", "yaml": "blocks:\n  - {name: load, kind: csv\n"})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["field"], "yaml");
    assert!(bad["message"].as_str().unwrap().contains("line"), "{bad}");
    let (status, bad) = t
        .send(
            "POST",
            "/api/pipelines/edited/validate",
            Some(json!({"yaml": "blocks:\n  - {name: a, kind: noop}\n  - {name: load, kind: synthetic_churn, config: {rows: -5}}\n"})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let message = bad["message"].as_str().unwrap();
    assert!(
        message.contains("block load")
            && message.contains("config.rows")
            && message.contains("(line 3)"),
        "{bad}"
    );
    let (status, _) = t.send("GET", "/api/pipelines/edited", None).await;
    assert_eq!(status, 404);

    // Created, then its data file written beside it, then run.
    let (status, created) = t
        .send(
            "POST",
            "/api/pipelines",
            Some(json!({"name": "edited", "yaml": yaml})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["blocks"][1]["kind"], "sql_transform");
    let (status, again) = t
        .send(
            "POST",
            "/api/pipelines",
            Some(json!({"name": "edited", "yaml": yaml})),
        )
        .await;
    assert_eq!(
        (status, again["code"].clone()),
        (409, json!("already_exists"))
    );
    let http = reqwest::Client::new();
    let put = |file: &str, body: &str| {
        http.put(format!("{}/api/pipelines/edited/files/{file}", t.web))
            .body(body.to_string())
            .send()
    };
    let written = put("rows.csv", "x\n1\n2\n3\n").await.unwrap();
    assert_eq!(written.status(), 200);
    let run = t.send("POST", "/api/pipelines/edited/runs", None).await.1;
    let run = t.wait_run(run["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "success", "{run}");

    // Files: listed, read back, confined to the folder.
    let (_, files) = t.send("GET", "/api/pipelines/edited/files", None).await;
    let paths: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["pipeline.yaml", "rows.csv"]);
    let text = http
        .get(format!("{}/api/pipelines/edited/files/rows.csv", t.web))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "x\n1\n2\n3\n");
    for file in ["..", ".hidden", "%2E%2E"] {
        let answer = put(file, "x").await.unwrap();
        assert!(
            answer.status() == 400 || answer.status() == 404,
            "{file}: {}",
            answer.status()
        );
    }
    // pipeline.yaml written as a file is validated like the pipeline itself.
    let refused = put("pipeline.yaml", "blocks: []\n").await.unwrap();
    assert_eq!(refused.status(), 400);

    // Replaced, then deleted with its folder.
    let (status, replaced) = t
        .send(
            "PUT",
            "/api/pipelines/edited",
            Some(
                json!({"yaml": "description: one block now\nblocks:\n  - {name: a, kind: noop}\n"}),
            ),
        )
        .await;
    assert_eq!(
        (status, replaced["description"].clone()),
        (200, json!("one block now"))
    );
    let (status, _) = t.send("DELETE", "/api/pipelines/edited", None).await;
    assert_eq!(status, 204);
    let (status, _) = t.send("GET", "/api/pipelines/edited/files", None).await;
    assert_eq!(status, 404);
    t.stack.stop().await;
}

/// Issue 15 over REST: `block` and `from_block` limit a run (400s name the field, 409 before any
/// run has stored the inputs), and the run says which limit it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_limited_to_blocks_over_http() {
    let stack = TestStack::start().await;
    let t = &stack;
    let trigger = |body: serde_json::Value| async move {
        t.send("POST", "/api/pipelines/demo_mlops/runs", Some(body))
            .await
    };
    for (body, status, field) in [
        (
            json!({"block": "training", "from_block": "training"}),
            400,
            json!("from_block"),
        ),
        (json!({"block": "train"}), 400, json!("block")),
        (json!({"from_block": 3}), 400, json!("from_block")),
        (json!({"block": "training"}), 409, json!(null)),
    ] {
        let (got, err) = trigger(body.clone()).await;
        assert_eq!(
            (got, err["field"].clone()),
            (status, field),
            "{body}: {err}"
        );
    }
    let (_, err) = trigger(json!({"from_block": "preprocessing"})).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("block make_dataset has no stored output"),
        "{err}"
    );

    let full = t.run_demo(json!({"rows": 300})).await;
    assert_eq!(full["status"], "success", "{full}");
    assert_eq!(full["scope"], json!(null));

    let (status, queued) = trigger(json!({"block": "training", "variables": {"rows": 300}})).await;
    assert_eq!(status, 202, "{queued}");
    let run = t.wait_run(queued["run_id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["scope"], json!({"mode": "block", "block": "training"}));
    let statuses: Vec<(&str, &str)> = run["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["block"].as_str().unwrap(), b["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("make_dataset", "skipped"),
            ("preprocessing", "skipped"),
            ("training", "success"),
            ("registry", "skipped"),
            ("deployment", "skipped")
        ]
    );
    // The run list shows the limit too (the dashboard reads it there).
    let (_, listed) = t
        .send("GET", "/api/runs?pipeline=demo_mlops&limit=1", None)
        .await;
    assert_eq!(listed["runs"][0]["scope"], run["scope"], "{listed}");
}
