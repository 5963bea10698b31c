//! What the prediction service serves when its Production version goes away, both policies,
//! and that a full prediction log drops entries (counted) instead of holding answers.

use crate::common::{customer, TestStack};
use ironmage_prediction::LoadFailurePolicy;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn archive(t: &TestStack, version: i64) {
    let (status, body) = t
        .post(
            &format!("{}/api/models/churn/versions/{version}/transition", t.web),
            &json!({"stage": "archived", "reason": "test"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Wait until /health satisfies `done`; returns it.
async fn health_until(t: &TestStack, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, health) = t.get(&format!("{}/health", t.predict)).await;
        if done(&health) {
            return health;
        }
        assert!(Instant::now() < deadline, "never: {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keep_last_serves_an_archived_version_under_its_true_stage() {
    let t = TestStack::start().await;
    let run = t.run_demo(json!({})).await;
    let label = run["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    t.wait_serving(&label).await;
    archive(&t, 1).await;
    let health = health_until(&t, |h| h["stage"] == "Archived").await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["last_error"]
            .as_str()
            .unwrap()
            .contains("no Production version"),
        "{health}"
    );
    let (status, answer) = t.post(&format!("{}/predict", t.predict), &customer()).await;
    assert_eq!(
        (status, answer["model_stage"].as_str()),
        (200, Some("Archived")),
        "{answer}"
    );
    let (_, info) = t.get(&format!("{}/model/info", t.predict)).await;
    assert_eq!(info["model_stage"], "Archived", "{info}");
    // Back in Production: the error clears.
    let (status, body) = t
        .post(
            &format!("{}/api/models/churn/versions/1/transition", t.web),
            &json!({"stage": "production", "reason": "back"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let health = health_until(&t, |h| h["stage"] == "Production").await;
    assert_eq!(
        (health["status"].as_str(), &health["last_error"]),
        (Some("healthy"), &Value::Null),
        "{health}"
    );
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refuse_stops_serving_when_production_goes_away() {
    let t = TestStack::start_with(|c| c.on_load_failure = LoadFailurePolicy::Refuse).await;
    let run = t.run_demo(json!({})).await;
    t.wait_serving(run["summary"]["model_version"].as_str().unwrap())
        .await;
    archive(&t, 1).await;
    health_until(&t, |h| h["status"] == "no_model").await;
    let (status, answer) = t.post(&format!("{}/predict", t.predict), &customer()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("unavailable")),
        "{answer}"
    );
    let (status, _) = t.get(&format!("{}/ready", t.predict)).await;
    assert_eq!(status, 503);
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_log_drops_entries_and_counts_them_but_every_answer_goes_out() {
    let t = TestStack::start_with(|c| c.log_queue = 1).await;
    let run = t.run_demo(json!({})).await;
    t.wait_serving(run["summary"]["model_version"].as_str().unwrap())
        .await;
    let url = format!("{}/predict", t.predict);
    let batch = Value::Array(vec![customer(); 200]);
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (http, url, body) = (t.http.clone(), url.clone(), batch.to_string());
            tokio::spawn(async move {
                http.post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for r in requests {
        assert_eq!(r.await.unwrap(), 200);
    }
    // Every answer is either written or counted as dropped.
    let health = health_until(&t, |h| {
        let log = &h["prediction_log"];
        log["written"].as_u64().unwrap() + log["dropped"].as_u64().unwrap() == 4000
    })
    .await;
    let log = &health["prediction_log"];
    let (written, dropped) = (
        log["written"].as_u64().unwrap(),
        log["dropped"].as_u64().unwrap(),
    );
    assert!(dropped > 0, "{health}");
    assert_eq!(t.prediction_count().await as u64, written);
    t.stack.stop().await;
}
