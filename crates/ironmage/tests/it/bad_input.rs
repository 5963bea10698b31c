//! Bad input gets a clear 4xx with a JSON body naming the field, and loses nothing.

use crate::common::{customer, TestStack};
use serde_json::{json, Value};

fn with(field: &str, value: Value) -> Value {
    let mut c = customer();
    c[field] = value;
    c
}

fn without(field: &str) -> Value {
    let mut c = customer();
    c.as_object_mut().unwrap().remove(field);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_prediction_inputs_name_the_field_and_are_not_logged() {
    let t = TestStack::start().await;
    assert_eq!(t.run_demo(json!({})).await["status"], "success");
    let label = t
        .stack
        .platform
        .registry
        .read()
        .production_version("churn")
        .await
        .unwrap()
        .unwrap()
        .label;
    t.wait_serving(&label).await;
    let url = format!("{}/predict", t.predict);
    let big = format!("[{}]", vec![crate::common::CUSTOMER; 1000].join(","));
    let nan = crate::common::CUSTOMER.replace("65.5", "NaN");
    let inf = crate::common::CUSTOMER.replace("65.5", "1e999");
    let cases: Vec<(String, u16, &str)> = vec![
        (
            without("monthly_charges").to_string(),
            400,
            "monthly_charges",
        ),
        (
            with("account_age", json!("24")).to_string(),
            400,
            "account_age",
        ),
        (
            with("account_age", Value::Null).to_string(),
            400,
            "account_age",
        ),
        (
            with("num_services", json!([3])).to_string(),
            400,
            "num_services",
        ),
        (
            with("favourite_colour", json!("red")).to_string(),
            400,
            "favourite_colour",
        ),
        (nan, 400, "monthly_charges"),
        (inf, 400, "monthly_charges"),
        (String::new(), 400, "body"),
        ("not json".into(), 400, "body"),
        ("{\"account_age\": 1".into(), 400, "account_age"),
        ("[]".into(), 400, "body"),
        ("42".into(), 400, "body"),
        (
            json!([customer(), with("support_tickets", json!(true))]).to_string(),
            400,
            "[1].support_tickets",
        ),
        (big, 413, "body"),
    ];
    for (body, status, field) in cases {
        let (got, answer) = t.post_raw(&url, body.clone()).await;
        assert_eq!(got, status, "{body:.80}: {answer}");
        assert_eq!(answer["field"], field, "{body:.80}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
        assert_eq!(answer["type"], "invalid_request");
    }
    // A batch answers each row; bad rows above were not logged, good ones are.
    let (status, answers) = t
        .post(
            &url,
            &json!([customer(), with("satisfaction_score", json!(0.1))]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answers.as_array().unwrap().len(), 2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while t.prediction_count().await < 2 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        t.prediction_count().await,
        2,
        "only the two good rows are logged"
    );
    let (_, health) = t.get(&format!("{}/health", t.predict)).await;
    assert_eq!(health["status"], "healthy");
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_prediction_persists_audit_entries_and_rejects_bad_ones() {
    let t = TestStack::start().await;
    let url = format!("{}/log-prediction", t.predict);
    let entry = json!({"prediction": 1, "probability": {"churn": 0.65, "no_churn": 0.35}, "risk_level": "High", "user_id": "user123"});
    let (status, answer) = t.post(&url, &entry).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["status"], "logged");
    assert_eq!(t.prediction_count().await, 1);
    for (body, field) in [
        (json!({"probability": {"churn": 0.5}}), "prediction"),
        (json!({"prediction": "yes"}), "prediction"),
        (
            json!({"prediction": 1, "probability": {"churn": 1.5}}),
            "probability.churn",
        ),
        (json!({"prediction": 1, "probability": 0.4}), "probability"),
        (json!({"prediction": 1, "risk_level": 3}), "risk_level"),
        (json!([1, 2]), "body"),
    ] {
        let (status, answer) = t.post(&url, &body).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        t.prediction_count().await,
        1,
        "rejected entries are not logged"
    );
    // Without a Production model the service says so instead of guessing.
    let (status, answer) = t.post(&format!("{}/predict", t.predict), &customer()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("unavailable")),
        "{answer}"
    );
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_requests_get_clear_errors() {
    let t = TestStack::start().await;
    let w = &t.web;
    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        (
            "POST",
            format!("{w}/api/pipelines/nope/runs"),
            Some(json!({})),
            404,
            "not_found",
        ),
        (
            "POST",
            format!("{w}/api/pipelines/demo_mlops/runs"),
            Some(json!({"variables": {"sede": 1}})),
            400,
            "variables.sede",
        ),
        (
            "POST",
            format!("{w}/api/pipelines/demo_mlops/runs"),
            Some(json!({"variables": {"seed": "abc"}})),
            400,
            "variables.seed",
        ),
        (
            "POST",
            format!("{w}/api/pipelines/demo_mlops/runs"),
            Some(json!({"variabels": {}})),
            400,
            "variabels",
        ),
        (
            "POST",
            format!("{w}/api/pipelines/..%2Fetc/runs"),
            Some(json!({})),
            400,
            "pipeline",
        ),
        (
            "GET",
            format!("{w}/api/runs/does-not-exist"),
            None,
            404,
            "not_found",
        ),
        ("GET", format!("{w}/api/runs?limit=0"), None, 400, "limit"),
        ("GET", format!("{w}/api/runs?limit=abc"), None, 400, "query"),
        (
            "GET",
            format!("{w}/api/models/ghost"),
            None,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("{w}/api/models/churn/versions/x"),
            None,
            400,
            "path",
        ),
        (
            "GET",
            format!("{w}/api/models/churn/versions/9/lineage"),
            None,
            404,
            "not_found",
        ),
        (
            "POST",
            format!("{w}/api/models/churn/versions/1/transition"),
            Some(json!({"stage": "Live", "reason": "x"})),
            400,
            "stage",
        ),
        (
            "POST",
            format!("{w}/api/models/churn/versions/1/transition"),
            Some(json!({"stage": "Production"})),
            400,
            "reason",
        ),
        (
            "GET",
            format!("{w}/api/models/ghost/transitions"),
            None,
            404,
            "not_found",
        ),
        (
            "POST",
            format!("{w}/api/models/churn/versions/1/transition"),
            Some(json!({"stage": "Production", "reason": "x"})),
            404,
            "not_found",
        ),
        (
            "GET",
            format!("{w}/api/nothing-here"),
            None,
            404,
            "not_found",
        ),
    ];
    for (method, url, body, status, expect) in cases {
        let (got, answer) = match body {
            Some(b) => t.post(&url, &b).await,
            None => {
                assert_eq!(method, "GET");
                t.get(&url).await
            }
        };
        assert_eq!(got, status, "{method} {url}: {answer}");
        let named = answer["field"] == expect || answer["code"] == expect;
        assert!(named, "{method} {url}: expected {expect} in {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (_, runs) = t.get(&format!("{w}/api/runs")).await;
    assert_eq!(
        runs["runs"].as_array().unwrap().len(),
        0,
        "no rejected request created a run"
    );
    t.stack.stop().await;
}
