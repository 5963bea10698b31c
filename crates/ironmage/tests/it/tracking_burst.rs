//! A burst of runs on the embedded default (SQLite) loses no tracking data (issue 13).
//!
//! Triggered all at once over HTTP, as a user's script would, runs used to hit "database is
//! locked" when their tracking run was opened or their training metrics were logged; the
//! failure was a warning in the log and the tracking run stayed without params or metrics.
//! Here every run must succeed and every tracking run must be complete.

use crate::common::TestStack;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Enough runs at once to reproduce the lost writes before the fix (see the test's report),
/// small enough to end within a minute on two cores.
const RUNS: usize = 120;

/// The demo's loop, shrunk: small data, a few shallow trees. Registering and deploying every
/// run keeps the registry's writes in the mix, as in `demo_mlops`.
const PIPELINE: &str = r#"
name: burst
variables:
  seed: 42
blocks:
  - name: make_dataset
    kind: synthetic_churn
    config:
      rows: 200
      seed: ${seed}
      churn_rate: 0.3
      missing_rate: 0.02
  - name: preprocessing
    kind: preprocess
    upstream: [make_dataset]
    config:
      test_size: 0.25
      seed: 42
  - name: training
    kind: random_forest_classifier
    upstream: [preprocessing]
    config:
      n_estimators: 5
      max_depth: 4
      random_state: 42
  - name: registry
    kind: register_model
    upstream: [training]
    config:
      model: burst
  - name: deployment
    kind: deploy
    upstream: [registry]
    config:
      gate:
        metric: auc_score
        min: 0.0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_runs_keeps_every_tracking_run_complete() {
    let t = TestStack::start().await;
    let folder = t.dir.path().join("project/pipelines/burst");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("pipeline.yaml"), PIPELINE).unwrap();

    let started = Instant::now();
    let url = format!("{}/api/pipelines/burst/runs", t.web);
    let answers = futures::future::join_all((0..RUNS).map(|_| {
        let (http, url) = (t.http.clone(), url.clone());
        async move {
            let resp = http
                .post(&url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("the trigger request failed");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    }))
    .await;
    let mut ids = Vec::with_capacity(RUNS);
    let mut refused = Vec::new();
    for (status, body) in answers {
        match body["run_id"].as_str() {
            Some(id) if status == 202 => ids.push(id.to_string()),
            _ => refused.push(format!("{status} {body}")),
        }
    }
    assert!(
        refused.is_empty(),
        "{} of {RUNS} triggers were refused: {refused:?}",
        refused.len()
    );

    let deadline = Instant::now() + Duration::from_secs(180);
    let mut failed = Vec::new();
    for id in &ids {
        loop {
            let run = t.stack.platform.runs.run(id).await.unwrap();
            if !matches!(run.status.as_str(), "queued" | "running") {
                if run.status.as_str() != "success" {
                    failed.push(format!("{id}: {} {:?}", run.status.as_str(), run.error));
                }
                break;
            }
            assert!(Instant::now() < deadline, "run {id} did not end: {run:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let elapsed = started.elapsed();

    // Every tracking run as the MLflow API shows it: one search over the pipeline's experiment.
    let (status, experiment) = t
        .send(
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=burst",
            None,
        )
        .await;
    assert_eq!(status, 200, "{experiment}");
    let experiment_id = experiment["experiment"]["experiment_id"].clone();
    let (status, found) = t
        .send(
            "POST",
            "/api/2.0/mlflow/runs/search",
            Some(json!({"experiment_ids": [experiment_id], "max_results": 1000})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let tracked: Vec<&Value> = found["runs"]
        .as_array()
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    let mut incomplete = Vec::new();
    for id in &ids {
        let Some(run) = tracked.iter().find(|r| r["info"]["run_id"] == id.as_str()) else {
            incomplete.push(format!("{id}: no tracking run"));
            continue;
        };
        let keys = |field: &str| -> Vec<String> {
            run["data"][field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|kv| kv["key"].as_str().map(str::to_string))
                .collect()
        };
        let (params, metrics) = (keys("params"), keys("metrics"));
        let mut missing = Vec::new();
        // `var.seed` is logged when the run is created, the rest by the training block.
        for param in ["var.seed", "n_estimators", "max_depth"] {
            if !params.iter().any(|p| p == param) {
                missing.push(format!("param {param}"));
            }
        }
        for metric in ["accuracy", "auc_score", "f1_score"] {
            if !metrics.iter().any(|m| m == metric) {
                missing.push(format!("metric {metric}"));
            }
        }
        if run["info"]["status"] != "FINISHED" {
            missing.push(format!("status FINISHED (is {})", run["info"]["status"]));
        }
        if !missing.is_empty() {
            incomplete.push(format!("{id}: missing {}", missing.join(", ")));
        }
    }
    eprintln!(
        "{RUNS} runs in {:.1} s ({:.1} runs/s): {} failed, {} tracking runs incomplete",
        elapsed.as_secs_f64(),
        RUNS as f64 / elapsed.as_secs_f64(),
        failed.len(),
        incomplete.len()
    );
    assert!(
        failed.is_empty() && incomplete.is_empty(),
        "{} of {RUNS} runs failed: {failed:#?}\n{} of {RUNS} tracking runs are incomplete: {incomplete:#?}",
        failed.len(),
        incomplete.len()
    );
    t.stack.stop().await;
}
