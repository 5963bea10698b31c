//! Pipeline runs as tracking runs: every pipeline run is also a tracking run (same id) in the
//! experiment named after its pipeline, and the training block logs its hyperparameters and
//! test metrics to it, so runs of pipelines and of MLflow scripts are searched alike.
//!
//! Tracking is a record beside the run, not part of it: a failure to write it is logged and
//! does not fail the run.

use crate::error::Result;
use crate::platform::Platform;
use crate::store::{now_ms, KeyValue, MetricPoint, NewTrackingRun, Run, RunStatus};
use serde_json::{Map, Value};

impl Platform {
    /// Open the tracking run of a just-created pipeline run.
    pub async fn start_tracking_run(&self, run: &Run) {
        if let Err(e) = self.try_start_tracking_run(run).await {
            tracing::warn!(run = %run.id, error = %e, "could not record the tracking run");
        }
    }

    async fn try_start_tracking_run(&self, run: &Run) -> Result<()> {
        let experiment_id = self.store.ensure_experiment(&run.pipeline).await?;
        self.store
            .create_tracking_run(NewTrackingRun {
                id: Some(run.id.clone()),
                experiment_id,
                name: Some(format!(
                    "{}-{}",
                    run.pipeline,
                    &run.id[..8.min(run.id.len())]
                )),
                user_id: run.trigger.clone(),
                start_time: now_ms(),
                tags: vec![
                    KeyValue::new("ironmage.pipeline", &run.pipeline),
                    KeyValue::new("ironmage.trigger", &run.trigger),
                    KeyValue::new("mlflow.source.type", "PIPELINE"),
                ],
            })
            .await?;
        let params: Vec<KeyValue> = run
            .variables
            .iter()
            .map(|(k, v)| KeyValue::new(format!("var.{k}"), text(v)))
            .collect();
        self.store.log_batch(&run.id, &[], &params, &[]).await
    }

    /// Log a training block's hyperparameters (as params) and numeric metrics to the run.
    pub async fn log_training(
        &self,
        run_id: &str,
        hyperparameters: &Map<String, Value>,
        metrics: &Value,
    ) {
        let now = now_ms();
        let params: Vec<KeyValue> = hyperparameters
            .iter()
            .map(|(k, v)| KeyValue::new(k, text(v)))
            .collect();
        let points: Vec<(MetricPoint, Option<String>)> = metrics
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k, v.as_f64()?)))
            .map(|(k, value)| {
                let point = MetricPoint {
                    key: k.clone(),
                    value,
                    timestamp: now,
                    step: 0,
                };
                (point, None)
            })
            .collect();
        if let Err(e) = self.store.log_batch(run_id, &points, &params, &[]).await {
            tracing::warn!(run = %run_id, error = %e, "could not log training to the tracking run");
        }
    }

    /// Close the tracking run of a finished pipeline run.
    pub async fn end_tracking_run(&self, run_id: &str, status: RunStatus) {
        let status = match status {
            RunStatus::Success => "FINISHED",
            RunStatus::Cancelled => "KILLED",
            _ => "FAILED",
        };
        if let Err(e) = self
            .store
            .update_tracking_run(run_id, Some(status), Some(now_ms()), None)
            .await
        {
            tracing::warn!(run = %run_id, error = %e, "could not close the tracking run");
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
