//! Pipeline runs as tracking runs: every pipeline run is also a tracking run (same id) in the
//! experiment named after its pipeline, and the training block logs its hyperparameters and
//! test metrics to it, so runs of pipelines and of MLflow scripts are searched alike.
//!
//! A failure to write tracking is never only a log line: the run is not created without its
//! tracking run, the training block fails when its metrics cannot be logged (and retries),
//! and closing the tracking run is retried like the run's outcome.

use crate::error::{Error, ErrorCode, Result};
use crate::retry::until_written;
use crate::store::{
    now_ms, ArtifactEntry, Experiment, KeyValue, LoggedModel, MetricPoint, MlflowSource, NewRun,
    NewTrackingRun, RunSearch, RunStatus, Store, TrackingRun, TrackingRunInfo, TrackingStore,
    ViewType,
};
use serde_json::{Map, Value};

/// Experiments and tracking runs: pipeline runs recorded as tracking runs, and what MLflow
/// clients log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tracking {
    store: TrackingStore,
}

impl Tracking {
    /// The tracking records of `store`.
    pub fn new(store: &Store) -> Tracking {
        Tracking {
            store: store.tracking(),
        }
    }

    /// Record a pipeline run (queued) together with its tracking run, in one transaction: if
    /// the tracking run cannot be written, neither is the run, and the caller gets the error.
    /// Returns the run's id.
    pub(crate) async fn create_tracked_run(&self, new: NewRun) -> Result<String> {
        let experiment_id = self.store.ensure_experiment(&new.pipeline).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let tracking =
            NewTrackingRun {
                id: Some(id.clone()),
                experiment_id,
                name: Some(format!("{}-{}", new.pipeline, &id[..8])),
                user_id: new.trigger.clone(),
                start_time: now_ms(),
                tags: [
                    KeyValue::new("ironmage.pipeline", &new.pipeline),
                    KeyValue::new("ironmage.trigger", &new.trigger),
                    KeyValue::new("mlflow.source.type", "PIPELINE"),
                ]
                .into_iter()
                // A run limited to some blocks says so on MLflow's side too.
                .chain(new.scope.as_ref().map(|scope| {
                    KeyValue::new(format!("ironmage.{}", scope.field()), scope.block())
                }))
                .collect(),
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
        until_written("close the tracking run", run_id, || async {
            match self
                .store
                .update_tracking_run(run_id, Some(status), Some(now_ms()), None)
                .await
            {
                // A run recorded before pipeline runs had tracking runs has none to close.
                Err(e) if e.code == ErrorCode::NotFound => Ok(()),
                other => other.map(|_| ()),
            }
        })
        .await
    }

    // What MLflow clients and the REST API read and log.
    /// Create an experiment; its id is one past the largest. A taken name is a conflict.
    pub async fn create_experiment(&self, name: &str, tags: &[KeyValue]) -> Result<i64> {
        self.store.create_experiment(name, tags).await
    }

    /// One experiment by id.
    pub async fn experiment(&self, id: i64) -> Result<Experiment> {
        self.store.experiment(id).await
    }

    /// One experiment by name.
    pub async fn experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.store.experiment_by_name(name).await
    }

    /// Experiments, newest first, `limit` from `offset`.
    pub async fn search_experiments(
        &self,
        view: ViewType,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Experiment>> {
        self.store.search_experiments(view, offset, limit).await
    }

    /// Set one experiment tag.
    pub async fn set_experiment_tag(&self, id: i64, tag: &KeyValue) -> Result<()> {
        self.store.set_experiment_tag(id, tag).await
    }

    /// Mark an experiment `deleted` or `active` again.
    pub async fn set_experiment_lifecycle(&self, id: i64, stage: &str) -> Result<()> {
        self.store.set_experiment_lifecycle(id, stage).await
    }

    /// The experiment named `name`, created when missing (a pipeline's experiment).
    pub async fn ensure_experiment(&self, name: &str) -> Result<i64> {
        self.store.ensure_experiment(name).await
    }

    /// Start a tracking run in an existing, active experiment.
    pub async fn create_tracking_run(&self, new: NewTrackingRun) -> Result<TrackingRunInfo> {
        self.store.create_tracking_run(new).await
    }

    /// A run's attributes.
    pub async fn tracking_run_info(&self, id: &str) -> Result<TrackingRunInfo> {
        self.store.tracking_run_info(id).await
    }

    /// A run with its latest metrics, params, tags and outputs.
    pub async fn tracking_run(&self, id: &str) -> Result<TrackingRun> {
        self.store.tracking_run(id).await
    }

    /// Change a run's status, end time or name.
    pub async fn update_tracking_run(
        &self,
        id: &str,
        status: Option<&str>,
        end_time: Option<i64>,
        name: Option<&str>,
    ) -> Result<TrackingRunInfo> {
        self.store
            .update_tracking_run(id, status, end_time, name)
            .await
    }

    /// Mark a run `deleted` or `active` again.
    pub async fn set_tracking_run_lifecycle(&self, id: &str, stage: &str) -> Result<()> {
        self.store.set_tracking_run_lifecycle(id, stage).await
    }

    /// Runs matching a search, one page.
    pub async fn search_tracking_runs(&self, search: &RunSearch) -> Result<Vec<TrackingRun>> {
        self.store.search_tracking_runs(search).await
    }

    /// Log metrics, params and tags to a run, all or nothing. A param keeps its first value:
    /// logging another value for it is refused, as MLflow does.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[(MetricPoint, Option<String>)],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<()> {
        self.store.log_batch(run_id, metrics, params, tags).await
    }

    /// Remove a run tag; a missing tag is an error, as in MLflow.
    pub async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.store.delete_run_tag(run_id, key).await
    }

    /// Every point of one metric of a run, by step then time.
    pub async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        self.store.metric_history(run_id, key).await
    }

    /// Record that a run produced logged models.
    pub async fn log_run_outputs(&self, run_id: &str, models: &[(String, i64)]) -> Result<()> {
        self.store.log_run_outputs(run_id, models).await
    }

    /// Create a logged model (status PENDING) in an existing experiment.
    pub async fn create_logged_model(
        &self,
        experiment_id: i64,
        name: &str,
        source_run_id: Option<&str>,
        model_type: &str,
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<LoggedModel> {
        self.store
            .create_logged_model(experiment_id, name, source_run_id, model_type, params, tags)
            .await
    }

    /// One logged model.
    pub async fn logged_model(&self, id: &str) -> Result<LoggedModel> {
        self.store.logged_model(id).await
    }

    /// Set a logged model's status.
    pub async fn set_logged_model_status(&self, id: &str, status: &str) -> Result<LoggedModel> {
        self.store.set_logged_model_status(id, status).await
    }

    /// Set tags on a logged model.
    pub async fn set_logged_model_tags(&self, id: &str, tags: &[KeyValue]) -> Result<()> {
        self.store.set_logged_model_tags(id, tags).await
    }

    /// Logged models of some experiments, newest first, optionally with one name.
    pub async fn search_logged_models(
        &self,
        experiment_ids: &[i64],
        name: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<LoggedModel>> {
        self.store
            .search_logged_models(experiment_ids, name, offset, limit)
            .await
    }

    /// Point an artifact path at stored content (the latest write wins).
    pub async fn index_artifact(&self, path: &str, sha: &str, size: i64) -> Result<()> {
        self.store.index_artifact(path, sha, size).await
    }

    /// The content reference of an artifact file, if there is one at `path`.
    pub async fn artifact_file(&self, path: &str) -> Result<Option<String>> {
        self.store.artifact_file(path).await
    }

    /// The direct children of folder `dir` (files and sub-folders), by name.
    pub async fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactEntry>> {
        self.store.list_artifacts(dir).await
    }

    /// The artifact folder holding the files of a version registered through MLflow: the
    /// logged model's folder (`models:/m-…`), or a path under its run's artifacts
    /// (`runs:/<run>/model`), or the source itself when it is an `mlflow-artifacts:/` URI.
    pub async fn model_folder(&self, source: &MlflowSource) -> Result<String> {
        if let Some(id) = &source.model_id {
            return Ok(self.store.logged_model(id).await?.artifact_path());
        }
        if let Some(rest) = source.source.strip_prefix("runs:/") {
            let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
            let run_folder = self.store.tracking_run_info(run).await?.artifact_path();
            let path = path.trim_matches('/');
            return Ok(if path.is_empty() {
                run_folder
            } else {
                format!("{run_folder}/{path}")
            });
        }
        match source.source.strip_prefix("mlflow-artifacts:") {
            Some(path) => Ok(path.trim_matches('/').to_string()),
            None => Err(Error::invalid_field(
                "source",
                format!(
                    "{:?} is not a location ironmage stores (expected models:/, runs:/ or mlflow-artifacts:/)",
                    source.source
                ),
            )),
        }
    }

    /// Every file under `folder`, recursively: its path relative to `folder` and its content
    /// reference in the artifact store.
    pub async fn folder_files(&self, folder: &str) -> Result<Vec<(String, String)>> {
        let mut files = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(relative) = pending.pop() {
            let dir = if relative.is_empty() {
                folder.to_string()
            } else {
                format!("{folder}/{relative}")
            };
            for entry in self.store.list_artifacts(&dir).await? {
                let path = if relative.is_empty() {
                    entry.path.clone()
                } else {
                    format!("{relative}/{}", entry.path)
                };
                if entry.is_dir {
                    pending.push(path);
                } else if let Some(sha) = self
                    .store
                    .artifact_file(&format!("{dir}/{}", entry.path))
                    .await?
                {
                    files.push((path, sha));
                }
            }
        }
        files.sort();
        Ok(files)
    }
}

/// A JSON value as param text: strings bare, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
