//! A tracking write that fails is visible (issue 13): a run is not created without its
//! tracking run, and a training block that cannot log its metrics fails, after its retries.

use crate::common::platform::{open_platform, write_pipeline};
use ironmage_core::error::ErrorCode;
use ironmage_core::store::{BlockStatus, RunStatus};
use ironmage_core::Platform;
use serde_json::Map;
use std::path::Path;

const PIPELINE: &str = r#"
name: tracked
variables:
  seed: 1
blocks:
  - name: make_dataset
    kind: synthetic_churn
    config:
      rows: 200
      seed: ${seed}
      churn_rate: 0.3
      missing_rate: 0.0
  - name: preprocessing
    kind: preprocess
    upstream: [make_dataset]
    config: {test_size: 0.25, seed: 1}
  - name: training
    kind: random_forest_classifier
    upstream: [preprocessing]
    retries: 1
    retry_delay_ms: 10
    config: {n_estimators: 3, max_depth: 3, random_state: 1}
"#;

async fn platform(dir: &Path) -> Platform {
    write_pipeline(dir, "tracked", PIPELINE);
    open_platform(dir, None).await
}

#[tokio::test]
async fn a_run_is_not_created_when_its_tracking_run_cannot_be() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let first = p
        .runs
        .create_run("tracked", Map::new(), "test")
        .await
        .unwrap();
    // A deleted experiment takes no new tracking runs, so the pipeline's next run cannot have one.
    let experiment = p.tracking.experiment_by_name("tracked").await.unwrap();
    p.tracking
        .set_experiment_lifecycle(experiment.id, "deleted")
        .await
        .unwrap();
    let err = p
        .runs
        .create_run("tracked", Map::new(), "test")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err}");
    assert!(err.message.contains("tracking run"), "{err}");
    assert!(err.message.contains("is deleted"), "{err}");
    // Nothing half-written: the only run is the first one.
    let runs = p.runs.list_runs(Some("tracked"), 100).await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str()]);
}

#[tokio::test]
async fn a_training_block_that_cannot_log_its_metrics_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let run = p
        .runs
        .create_run("tracked", Map::new(), "test")
        .await
        .unwrap();
    // A deleted tracking run refuses every log, as MLflow's do: the training cannot record.
    p.tracking
        .set_tracking_run_lifecycle(&run.id, "deleted")
        .await
        .unwrap();
    let outcome = p
        .runs
        .execute_run(&run.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Failed, "{:?}", outcome.error);
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains("block training failed"), "{error}");
    assert!(
        error.contains("cannot log the training to the tracking run"),
        "{error}"
    );
    let training = p
        .runs
        .run_detail(&run.id)
        .await
        .unwrap()
        .blocks
        .into_iter()
        .find(|b| b.block == "training")
        .unwrap();
    assert_eq!(training.status, BlockStatus::Failed);
    assert_eq!(training.attempts, 2, "the block's retry applied");
    // The tracking run is closed with the run's outcome all the same.
    let tracked = p.tracking.tracking_run_info(&run.id).await.unwrap();
    assert_eq!(tracked.status, "FAILED");
    assert!(tracked.end_time.is_some());
}

#[tokio::test]
async fn a_run_and_its_tracking_run_are_created_together() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let mut vars = Map::new();
    vars.insert("seed".into(), 7.into());
    let run = p.runs.create_run("tracked", vars, "test").await.unwrap();
    let tracked = p.tracking.tracking_run(&run.id).await.unwrap();
    assert_eq!(tracked.info.status, "RUNNING");
    assert_eq!(tracked.info.name, format!("tracked-{}", &run.id[..8]));
    let params: Vec<(&str, &str)> = tracked
        .params
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(params, [("var.seed", "7")]);
    let tag = |key: &str| {
        tracked
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.clone())
    };
    assert_eq!(tag("ironmage.pipeline").as_deref(), Some("tracked"));
    assert_eq!(tag("ironmage.trigger").as_deref(), Some("test"));
    let outcome = p
        .runs
        .execute_run(&run.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let tracked = p.tracking.tracking_run(&run.id).await.unwrap();
    assert_eq!(tracked.info.status, "FINISHED");
    assert!(tracked.metrics.iter().any(|m| m.key == "auc_score"));
    assert!(tracked.params.iter().any(|kv| kv.key == "n_estimators"));
}

#[tokio::test]
async fn several_training_blocks_log_under_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let yaml = PIPELINE.replace("name: tracked", "name: two_trainers")
        + r#"
  - name: tree
    kind: decision_tree
    upstream: [preprocessing]
    config: {task: classifier, max_depth: 2}
"#;
    let folder = dir.path().join("project/pipelines/two_trainers");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("pipeline.yaml"), yaml).unwrap();
    let run = p
        .runs
        .create_run("two_trainers", Map::new(), "test")
        .await
        .unwrap();
    let outcome = p
        .runs
        .execute_run(&run.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    // Both log max_depth (3 and 2): under one key the second would be refused.
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let tracked = p.tracking.tracking_run(&run.id).await.unwrap();
    let param = |key: &str| {
        tracked
            .params
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(param("training.max_depth").as_deref(), Some("3"));
    assert_eq!(param("tree.max_depth").as_deref(), Some("2"));
    assert_eq!(param("max_depth"), None);
    for key in ["training.auc_score", "tree.auc_score"] {
        assert!(
            tracked.metrics.iter().any(|m| m.key == key),
            "{key} missing: {:?}",
            tracked.metrics
        );
    }
}
