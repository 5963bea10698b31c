//! What a tracking run logs: params (first value kept), metrics (every point, and the latest
//! per key), tags, and the models it produced.

use super::tracking::{check_key, metric_from_row, upsert_tag, KeyValue, MetricPoint};
use super::TrackingStore;
use crate::error::{Error, Result};
use sqlx::Row;

impl TrackingStore {
    /// Log metrics, params and tags to a run, all or nothing. A param keeps its first value:
    /// logging another value for it is refused, as MLflow does.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[(MetricPoint, Option<String>)],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        write_log(&mut tx, run_id, metrics, params, tags).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove a run tag; a missing tag is an error, as in MLflow.
    pub async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.tracking_run_info(run_id).await?;
        let done = sqlx::query("DELETE FROM run_tags WHERE run_id = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    }

    /// Every point of one metric of a run, by step then time.
    pub async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        self.tracking_run_info(run_id).await?;
        sqlx::query("SELECT DISTINCT key, value, timestamp_ms, step FROM metric_history WHERE run_id = $1 AND key = $2 ORDER BY step, timestamp_ms")
            .bind(run_id)
            .bind(key)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(metric_from_row)
            .collect()
    }

    /// Record that a run produced logged models.
    pub async fn log_run_outputs(&self, run_id: &str, models: &[(String, i64)]) -> Result<()> {
        self.tracking_run_info(run_id).await?;
        for (model_id, step) in models {
            sqlx::query("INSERT INTO run_outputs (run_id, model_id, step) VALUES ($1, $2, $3) ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step")
                .bind(run_id)
                .bind(model_id)
                .bind(step)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }
}

/// [`Store::log_batch`] inside `tx`.
pub(super) async fn write_log(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    metrics: &[(MetricPoint, Option<String>)],
    params: &[KeyValue],
    tags: &[KeyValue],
) -> Result<()> {
    let row = sqlx::query("SELECT lifecycle_stage FROM tracking_runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
    if row.try_get::<String, _>("lifecycle_stage")? != "active" {
        return Err(Error::invalid_field(
            "run_id",
            format!("The run {run_id} must be in the 'active' state"),
        ));
    }
    for param in params {
        check_key("params.key", &param.key)?;
        let inserted = sqlx::query("INSERT INTO run_params (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO NOTHING")
            .bind(run_id)
            .bind(&param.key)
            .bind(&param.value)
            .execute(&mut **tx)
            .await?;
        if inserted.rows_affected() == 0 {
            let old: String =
                sqlx::query("SELECT value FROM run_params WHERE run_id = $1 AND key = $2")
                    .bind(run_id)
                    .bind(&param.key)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("value")?;
            if old != param.value {
                return Err(Error::invalid_field("params.value", format!(
                    "Changing param values is not allowed. Param with key='{}' was already logged with value='{old}' for run ID='{run_id}'. Attempted logging new value '{}'",
                    param.key, param.value
                )));
            }
        }
    }
    for (m, model_id) in metrics {
        check_key("metrics.key", &m.key)?;
        if !m.value.is_finite() {
            return Err(Error::invalid_field(
                "metrics.value",
                format!("metric {:?} has a non-finite value", m.key),
            ));
        }
        sqlx::query("INSERT INTO metric_history (run_id, key, value, timestamp_ms, step, model_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
            .bind(run_id)
            .bind(&m.key)
            .bind(m.value)
            .bind(m.timestamp)
            .bind(m.step)
            .bind(model_id.as_deref().unwrap_or(""))
            .execute(&mut **tx)
            .await?;
        // The latest point is the highest step, then the latest time.
        sqlx::query("INSERT INTO latest_metrics (run_id, key, value, timestamp_ms, step) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, timestamp_ms = excluded.timestamp_ms, step = excluded.step WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.timestamp_ms >= latest_metrics.timestamp_ms)")
            .bind(run_id)
            .bind(&m.key)
            .bind(m.value)
            .bind(m.timestamp)
            .bind(m.step)
            .execute(&mut **tx)
            .await?;
    }
    for tag in tags {
        check_key("tags.key", &tag.key)?;
        upsert_tag(tx, run_id, tag).await?;
        if tag.key == "mlflow.runName" {
            sqlx::query("UPDATE tracking_runs SET name = $2 WHERE id = $1")
                .bind(run_id)
                .bind(&tag.value)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
