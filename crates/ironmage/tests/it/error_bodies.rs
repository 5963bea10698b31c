//! Every kind of error body the REST APIs answer, pinned: the status, the stable `code` and
//! `type`, the `field` and the message, for a request of each kind on the native API, MLflow's
//! API and the prediction service. A change to any of them shows as a snapshot diff
//! (`tests/it/snapshots/`); accept it with `cargo insta review` when it is meant.

use crate::common::TestStack;
use serde_json::{json, Value};

/// (method, path, body) on the web role.
type Request = (&'static str, &'static str, Option<Value>);

async fn answers(t: &TestStack, requests: Vec<Request>) -> Vec<Value> {
    let mut out = Vec::new();
    for (method, path, body) in requests {
        let (status, answer) = t.send(method, path, body.clone()).await;
        out.push(json!({"request": format!("{method} {path}"), "body": body, "status": status, "answer": answer}));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_are_pinned() {
    let t = TestStack::start().await;
    let native = answers(
        &t,
        vec![
            ("GET", "/api/pipelines/nope", None),
            (
                "POST",
                "/api/pipelines/demo_mlops/runs",
                Some(json!({"variables": {"seed": "x"}})),
            ),
            (
                "POST",
                "/api/pipelines/demo_mlops/runs",
                Some(json!({"vars": {}})),
            ),
            ("GET", "/api/runs/0123456789abcdef0123456789abcdef", None),
            ("GET", "/api/models/nope", None),
            (
                "POST",
                "/api/models/churn/versions/1/transition",
                Some(json!({"stage": "Prod", "reason": "x"})),
            ),
            (
                "POST",
                "/api/models/churn/versions/1/transition",
                Some(json!({"stage": "Production"})),
            ),
            (
                "PUT",
                "/api/models/churn/policy",
                Some(json!({"required_approvals": 99})),
            ),
            (
                "POST",
                "/api/pipelines/demo_mlops/triggers",
                Some(json!({"name": "t", "kind": "sometimes"})),
            ),
            (
                "POST",
                "/api/pipelines/demo_mlops/triggers",
                Some(json!({"name": "t", "kind": "cron", "cron": "not cron"})),
            ),
            ("GET", "/api/triggers/nope.nope", None),
            ("GET", "/api/no-such-route", None),
        ],
    )
    .await;
    // The project folder is a fresh temporary one each time.
    let project = regex::escape(&t.stack.platform.project().root().display().to_string());
    insta::with_settings!({filters => vec![(project.as_str(), "[project]")]}, {
        insta::assert_json_snapshot!("native_api_errors", native);
    });

    let mlflow = answers(
        &t,
        vec![
            (
                "GET",
                "/api/2.0/mlflow/experiments/get?experiment_id=999",
                None,
            ),
            (
                "POST",
                "/api/2.0/mlflow/experiments/create",
                Some(json!({})),
            ),
            (
                "POST",
                "/api/2.0/mlflow/runs/search",
                Some(json!({"filter": "metrics.auc >>> 1"})),
            ),
            (
                "GET",
                "/api/2.0/mlflow/registered-models/get?name=nope",
                None,
            ),
            (
                "GET",
                "/api/2.0/mlflow/model-versions/search?filter=stage%20%3E%20%27a%27",
                None,
            ),
        ],
    )
    .await;
    insta::assert_json_snapshot!("mlflow_api_errors", mlflow);

    let mut prediction = Vec::new();
    for (path, body) in [
        ("/predict", json!({"account_age": 1})),
        ("/log-prediction", json!({"prediction": "yes"})),
    ] {
        let (status, answer) = t.post(&format!("{}{path}", t.predict), &body).await;
        prediction.push(json!({"request": format!("POST {path}"), "body": body, "status": status, "answer": answer}));
    }
    let (status, answer) = t
        .post_raw(&format!("{}/predict", t.predict), "{not json")
        .await;
    prediction.push(json!({"request": "POST /predict", "body": "{not json", "status": status, "answer": answer}));
    insta::assert_json_snapshot!("prediction_errors", prediction);
}
