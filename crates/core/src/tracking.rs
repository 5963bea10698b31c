//! Pipeline runs as tracking runs: every pipeline run is also a tracking run (same id) in the
//! experiment named after its pipeline, and the training block logs its hyperparameters and
//! test metrics to it, so runs of pipelines and of MLflow scripts are searched alike.
//!
//! A failure to write tracking is never only a log line: the run is not created without its
//! tracking run, the training block fails when its metrics cannot be logged (and retries),
//! and closing the tracking run is retried like the run's outcome.

use crate::error::{ErrorCode, Result};
use crate::platform::Platform;
use crate::store::{now_ms, KeyValue, MetricPoint, NewRun, NewTrackingRun, Run, RunStatus};
use serde_json::{Map, Value};
use std::time::Duration;

impl Platform {
    /// Record a pipeline run (queued) together with its tracking run, in one transaction: if
    /// the tracking run cannot be written, neither is the run, and the caller gets the error.
    pub(crate) async fn create_tracked_run(&self, new: NewRun) -> Result<Run> {
        let experiment_id = self.store.ensure_experiment(&new.pipeline).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let tracking = NewTrackingRun {
            id: Some(id.clone()),
            experiment_id,
            name: Some(format!("{}-{}", new.pipeline, &id[..8])),
            user_id: new.trigger.clone(),
            start_time: now_ms(),
            tags: vec![
                KeyValue::new("ironmage.pipeline", &new.pipeline),
                KeyValue::new("ironmage.trigger", &new.trigger),
                KeyValue::new("mlflow.source.type", "PIPELINE"),
            ],
        };
        let params: Vec<KeyValue> = new
            .variables
            .iter()
            .map(|(k, v)| KeyValue::new(format!("var.{k}"), text(v)))
            .collect();
        let pipeline = new.pipeline.clone();
        self.store
            .create_tracked_run(new, tracking, &params)
            .await
            .map_err(|e| {
                e.context(format!(
                    "cannot record the run with its tracking run (experiment {pipeline:?})"
                ))
            })
    }

    /// Log a training block's hyperparameters (as params) and numeric metrics to the run, each
    /// key after `prefix`. An error fails the block (its retries apply): a run must not succeed
    /// without its metrics.
    pub async fn log_training(
        &self,
        run_id: &str,
        prefix: &str,
        hyperparameters: &Map<String, Value>,
        metrics: &Value,
    ) -> Result<()> {
        let now = now_ms();
        let params: Vec<KeyValue> = hyperparameters
            .iter()
            .map(|(k, v)| KeyValue::new(format!("{prefix}{k}"), text(v)))
            .collect();
        let points: Vec<(MetricPoint, Option<String>)> = metrics
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k, v.as_f64()?)))
            .map(|(k, value)| {
                let point = MetricPoint {
                    key: format!("{prefix}{k}"),
                    value,
                    timestamp: now,
                    step: 0,
                };
                (point, None)
            })
            .collect();
        self.store
            .log_batch(run_id, &points, &params, &[])
            .await
            .map_err(|e| e.context("cannot log the training to the tracking run"))
    }

    /// Close the tracking run of a finished pipeline run. Retried while the store fails, as
    /// the run's outcome is: a finished run must not show as RUNNING in its experiment.
    pub async fn end_tracking_run(&self, run_id: &str, status: RunStatus) {
        let status = match status {
            RunStatus::Success => "FINISHED",
            RunStatus::Cancelled => "KILLED",
            _ => "FAILED",
        };
        let mut delay = Duration::from_millis(200);
        loop {
            match self
                .store
                .update_tracking_run(run_id, Some(status), Some(now_ms()), None)
                .await
            {
                Ok(_) => return,
                // A run recorded before pipeline runs had tracking runs has none to close.
                Err(e) if e.code == ErrorCode::NotFound => return,
                Err(e) => {
                    tracing::warn!(run = %run_id, error = %e, "cannot close the tracking run yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// A JSON value as param text: strings bare, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Refuse a version the prediction role cannot serve: one registered through MLflow holds
/// MLflow's files (an MLmodel folder), not an ironmage model bundle. The swapper records the
/// refusal and does not retry it until the next /reload or stage change.
pub fn check_servable(version: &crate::store::ModelVersion) -> Result<()> {
    match version.mlflow_source() {
        None => Ok(()),
        Some(s) => Err(crate::Error::unavailable(format!(
            "version {} of {:?} was registered through MLflow (source {}): the prediction service serves only models trained by ironmage pipelines; load it with mlflow.pyfunc.load_model(\"models:/{}/{}\")",
            version.version, version.model, s.source, version.model, version.version
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ArtifactRefs, ModelVersion, Stage};

    fn version(lineage: Value) -> ModelVersion {
        ModelVersion {
            model: "churn".into(),
            version: 2,
            label: "v_1".into(),
            stage: Stage::Production,
            run_id: None,
            dataset_version: None,
            artifacts: ArtifactRefs {
                model: String::new(),
                scaler: String::new(),
                schema: String::new(),
            },
            metrics: Map::new(),
            hyperparameters: Map::new(),
            lineage,
            created_at: "2026-11-23T21:00:00.000Z".into(),
            gate_status: None,
            gate_reason: None,
        }
    }

    #[test]
    fn mlflow_versions_are_not_servable() {
        let mlflow =
            version(serde_json::json!({"mlflow": {"source": "models:/m-1", "model_id": "m-1"}}));
        let err = check_servable(&mlflow).unwrap_err();
        assert!(err.message.contains("registered through MLflow"), "{err}");
        assert!(err.message.contains("models:/m-1"), "{err}");
        assert!(check_servable(&version(serde_json::json!({"code": {}}))).is_ok());
    }
}
