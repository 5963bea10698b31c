//! Tracking runs: creating, reading and updating them, and the types of what they hold (params,
//! tags, metric points). What a run logs is written by `run_logging.rs`; searches are in
//! `tracking_search.rs`.
//!
//! This is MLflow's data model, stored natively; ids are MLflow's (experiment ids are decimal
//! numbers, run ids 32 hex digits) so the MLflow REST routes map onto it one to one.

use super::TrackingStore;
use crate::error::{Error, Result};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A key and its value (a param, a tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

impl KeyValue {
    /// A pair from anything string-like.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One point of a metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct MetricPoint {
    /// Metric name.
    pub key: String,
    /// Value.
    pub value: f64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// Step (epoch, iteration); 0 when not given.
    pub step: i64,
}

/// A tracking run's own attributes.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TrackingRunInfo {
    /// 32 hex digits; a pipeline run's tracking run has the pipeline run's id.
    pub id: String,
    /// Its experiment.
    pub experiment_id: i64,
    /// Display name.
    pub name: String,
    /// Who started it.
    pub user_id: String,
    /// RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
    pub status: String,
    /// Epoch milliseconds.
    pub start_time: i64,
    /// Epoch milliseconds, once ended.
    pub end_time: Option<i64>,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

impl TrackingRunInfo {
    /// Where its artifacts live, as MLflow clients address them.
    pub fn artifact_uri(&self) -> String {
        format!("mlflow-artifacts:/{}", self.artifact_path())
    }

    /// Its artifacts' folder in the artifact path index.
    pub fn artifact_path(&self) -> String {
        format!("{}/{}/artifacts", self.experiment_id, self.id)
    }
}

/// A tracking run with its data.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TrackingRun {
    /// Attributes.
    pub info: TrackingRunInfo,
    /// Latest point of each metric.
    pub metrics: Vec<MetricPoint>,
    /// Params.
    pub params: Vec<KeyValue>,
    /// Tags.
    pub tags: Vec<KeyValue>,
    /// Logged models it produced: (model id, step).
    pub outputs: Vec<(String, i64)>,
}

/// What creating a tracking run takes.
#[derive(Debug, Clone, Default)]
pub struct NewTrackingRun {
    /// A given id (a pipeline run's); a fresh one when absent.
    pub id: Option<String>,
    /// Its experiment.
    pub experiment_id: i64,
    /// Display name; generated when absent.
    pub name: Option<String>,
    /// Who starts it.
    pub user_id: String,
    /// Epoch milliseconds.
    pub start_time: i64,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
}

/// Run statuses MLflow knows.
pub const RUN_STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn check_key(field: &str, key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 250 {
        return Err(Error::invalid_field(
            field,
            format!("key {key:?} must be 1 to 250 characters"),
        ));
    }
    Ok(())
}

const RUN_COLUMNS: &str =
    "id, experiment_id, name, user_id, status, start_ms, end_ms, lifecycle_stage";

impl TrackingStore {
    /// Start a tracking run in an existing, active experiment.
    pub async fn create_tracking_run(&self, new: NewTrackingRun) -> Result<TrackingRunInfo> {
        let mut tx = self.begin_write().await?;
        let id = insert_tracking_run(&mut tx, new).await?;
        tx.commit().await?;
        self.tracking_run_info(&id).await
    }

    /// A run's attributes.
    pub async fn tracking_run_info(&self, id: &str) -> Result<TrackingRunInfo> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM tracking_runs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("Run with id={id} not found")))?;
        run_info_from_row(&row)
    }

    /// A run with its latest metrics, params, tags and outputs.
    pub async fn tracking_run(&self, id: &str) -> Result<TrackingRun> {
        let info = self.tracking_run_info(id).await?;
        self.with_data(info).await
    }

    pub(crate) async fn with_data(&self, info: TrackingRunInfo) -> Result<TrackingRun> {
        let id = &info.id;
        let metrics = sqlx::query("SELECT key, value, timestamp_ms, step FROM latest_metrics WHERE run_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(metric_from_row)
            .collect::<Result<Vec<_>>>()?;
        let params = key_values(
            sqlx::query("SELECT key, value FROM run_params WHERE run_id = $1 ORDER BY key")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )?;
        let tags = key_values(
            sqlx::query("SELECT key, value FROM run_tags WHERE run_id = $1 ORDER BY key")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )?;
        let outputs = sqlx::query(
            "SELECT model_id, step FROM run_outputs WHERE run_id = $1 ORDER BY model_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("model_id")?, r.try_get("step")?)))
        .collect::<Result<Vec<_>>>()?;
        Ok(TrackingRun {
            info,
            metrics,
            params,
            tags,
            outputs,
        })
    }

    /// Change a run's status, end time or name.
    pub async fn update_tracking_run(
        &self,
        id: &str,
        status: Option<&str>,
        end_time: Option<i64>,
        name: Option<&str>,
    ) -> Result<TrackingRunInfo> {
        if let Some(s) = status {
            if !RUN_STATUSES.contains(&s) {
                return Err(Error::invalid_field(
                    "status",
                    format!(
                        "unknown run status {s:?}: expected one of {}",
                        RUN_STATUSES.join(", ")
                    ),
                ));
            }
        }
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE tracking_runs SET status = COALESCE($2, status), end_ms = COALESCE($3, end_ms), name = COALESCE($4, name) WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(end_time)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("Run with id={id} not found")));
        }
        if let Some(name) = name {
            upsert_tag(&mut tx, id, &KeyValue::new("mlflow.runName", name)).await?;
        }
        tx.commit().await?;
        self.tracking_run_info(id).await
    }

    /// Mark a run `deleted` or `active` again.
    pub async fn set_tracking_run_lifecycle(&self, id: &str, stage: &str) -> Result<()> {
        let done = sqlx::query("UPDATE tracking_runs SET lifecycle_stage = $2 WHERE id = $1")
            .bind(id)
            .bind(stage)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("Run with id={id} not found")));
        }
        Ok(())
    }
}

/// Insert a tracking run with its tags inside `tx`; its id.
pub(super) async fn insert_tracking_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: NewTrackingRun,
) -> Result<String> {
    let row = sqlx::query("SELECT lifecycle_stage FROM experiments WHERE id = $1")
        .bind(new.experiment_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "No Experiment with id={} exists",
                new.experiment_id
            ))
        })?;
    if row.try_get::<String, _>("lifecycle_stage")? != "active" {
        return Err(Error::invalid_field(
            "experiment_id",
            format!("experiment {} is deleted", new.experiment_id),
        ));
    }
    let id = new
        .id
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let name = new
        .name
        .filter(|n| !n.is_empty())
        .or_else(|| tag_value(&new.tags, "mlflow.runName"))
        .unwrap_or_else(|| format!("run-{}", &id[..8.min(id.len())]));
    sqlx::query(&format!("INSERT INTO tracking_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, 'RUNNING', $5, NULL, 'active')"))
        .bind(&id)
        .bind(new.experiment_id)
        .bind(&name)
        .bind(&new.user_id)
        .bind(new.start_time)
        .execute(&mut **tx)
        .await?;
    let mut tags = new.tags;
    if tag_value(&tags, "mlflow.runName").is_none() {
        tags.push(KeyValue::new("mlflow.runName", name.clone()));
    }
    for tag in &tags {
        check_key("tags.key", &tag.key)?;
        upsert_tag(tx, &id, tag).await?;
    }
    Ok(id)
}

/// Set a run tag inside `tx`, replacing its value.
pub(super) async fn upsert_tag(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    tag: &KeyValue,
) -> Result<()> {
    sqlx::query("INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
        .bind(run_id)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn tag_value(tags: &[KeyValue], key: &str) -> Option<String> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.clone())
}

pub(crate) fn key_values(rows: Vec<AnyRow>) -> Result<Vec<KeyValue>> {
    rows.iter()
        .map(|r| {
            Ok(KeyValue::new(
                r.try_get::<String, _>("key")?,
                r.try_get::<String, _>("value")?,
            ))
        })
        .collect()
}

pub(super) fn metric_from_row(row: &AnyRow) -> Result<MetricPoint> {
    Ok(MetricPoint {
        key: row.try_get("key")?,
        value: row.try_get("value")?,
        timestamp: row.try_get("timestamp_ms")?,
        step: row.try_get("step")?,
    })
}

pub(crate) fn run_info_from_row(row: &AnyRow) -> Result<TrackingRunInfo> {
    Ok(TrackingRunInfo {
        id: row.try_get("id")?,
        experiment_id: row.try_get("experiment_id")?,
        name: row.try_get("name")?,
        user_id: row.try_get("user_id")?,
        status: row.try_get("status")?,
        start_time: row.try_get("start_ms")?,
        end_time: row.try_get("end_ms")?,
        lifecycle_stage: row.try_get("lifecycle_stage")?,
    })
}
