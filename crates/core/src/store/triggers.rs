//! Triggers and what they have fired: stored so that schedules survive restarts and a
//! scheduler taking over from another goes on where it stopped.

use super::{json_column, TriggerStore};
use crate::clock;
use crate::error::{Error, Result};
use crate::triggers::{CatchUp, TriggerSpec};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A stored trigger.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Trigger {
    /// `<pipeline>.<name>`.
    pub id: String,
    /// The pipeline it runs.
    pub pipeline: String,
    /// Its name, unique within the pipeline.
    pub name: String,
    /// Kind and settings.
    #[serde(flatten)]
    pub spec: TriggerSpec,
    /// Variables given to the runs it starts.
    pub variables: Map<String, Value>,
    /// What to do with fire times missed while no scheduler ran.
    pub catch_up: CatchUp,
    /// Whether it fires.
    pub enabled: bool,
    /// `api` (created through the API or CLI) or `project` (from a `triggers.yaml`).
    pub source: String,
    /// When it was created.
    pub created_at: String,
    /// When it fires next (cron and interval).
    pub next_fire_at: Option<String>,
    /// When it last fired or was due.
    pub last_fired_at: Option<String>,
    /// The run it last started.
    pub last_run_id: Option<String>,
    /// What happened when it was last due (`started run …`, `skipped: …`).
    pub last_outcome: Option<String>,
}

/// What a caller gives to create a trigger.
#[derive(Debug, Clone)]
pub struct NewTrigger {
    /// The pipeline it runs.
    pub pipeline: String,
    /// Its name.
    pub name: String,
    /// Kind and settings.
    pub spec: TriggerSpec,
    /// Variables for its runs.
    pub variables: Map<String, Value>,
    /// Catch-up policy.
    pub catch_up: CatchUp,
    /// Whether it starts enabled.
    pub enabled: bool,
    /// `api` or `project`.
    pub source: String,
}

const COLUMNS: &str = "id, pipeline, name, kind, spec, variables, catch_up, enabled, source, created_at, next_fire_at, last_fired_at, last_run_id, last_outcome";

impl TriggerStore {
    /// Record a trigger; a conflict when the pipeline already has one of that name.
    pub async fn create_trigger(&self, new: &NewTrigger) -> Result<Trigger> {
        let id = format!("{}.{}", new.pipeline, new.name);
        let spec = serde_json::to_string(&new.spec).map_err(|e| Error::internal(e.to_string()))?;
        sqlx::query("INSERT INTO triggers (id, pipeline, name, kind, spec, variables, catch_up, enabled, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&id)
            .bind(&new.pipeline)
            .bind(&new.name)
            .bind(new.spec.kind())
            .bind(spec)
            .bind(Value::Object(new.variables.clone()).to_string())
            .bind(new.catch_up.as_str())
            .bind(new.enabled as i64)
            .bind(&new.source)
            .bind(clock::now())
            .execute(&self.writer)
            .await
            .map_err(|e| match Error::from(e) {
                e if e.code == crate::error::ErrorCode::AlreadyExists => Error::already_exists(format!(
                    "pipeline {} already has a trigger named {:?}",
                    new.pipeline, new.name
                ))
                .with_field("name"),
                e => e,
            })?;
        self.trigger(&id).await
    }

    /// One trigger.
    pub async fn trigger(&self, id: &str) -> Result<Trigger> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM triggers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found(format!("no trigger {id:?}")))?;
        trigger_from_row(&row)
    }

    /// Every trigger, or those of one pipeline, by pipeline and name.
    pub async fn triggers(&self, pipeline: Option<&str>) -> Result<Vec<Trigger>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM triggers WHERE ($1 IS NULL OR pipeline = $1) ORDER BY pipeline, name"
        ))
        .bind(pipeline)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(trigger_from_row).collect()
    }

    /// Enable or disable a trigger. Enabling clears its schedule, so that it counts from now
    /// and does not catch up on the time it was off.
    pub async fn set_trigger_enabled(&self, id: &str, enabled: bool) -> Result<Trigger> {
        let done = sqlx::query("UPDATE triggers SET enabled = $2, next_fire_at = CASE WHEN $2 = 1 AND enabled = 0 THEN NULL ELSE next_fire_at END WHERE id = $1")
            .bind(id)
            .bind(enabled as i64)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("no trigger {id:?}")));
        }
        self.trigger(id).await
    }

    /// Delete a trigger (and what it remembers of watched files).
    pub async fn delete_trigger(&self, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM trigger_files WHERE trigger_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM triggers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("no trigger {id:?}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Set when a trigger fires next.
    pub async fn schedule_trigger(&self, id: &str, next_fire_at: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE triggers SET next_fire_at = $2 WHERE id = $1")
            .bind(id)
            .bind(next_fire_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Record what happened when a trigger was due, and when it is due next.
    pub async fn record_trigger_fire(
        &self,
        id: &str,
        fired_at: &str,
        next_fire_at: Option<&str>,
        run_id: Option<&str>,
        outcome: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE triggers SET last_fired_at = $2, next_fire_at = $3, last_run_id = COALESCE($4, last_run_id), last_outcome = $5 WHERE id = $1")
            .bind(id)
            .bind(fired_at)
            .bind(next_fire_at)
            .bind(run_id)
            .bind(outcome)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Remember a watched file (path and modification time); true if it was not known yet,
    /// so exactly one scheduler fires for it.
    pub async fn note_trigger_file(&self, id: &str, path: &str, modified: &str) -> Result<bool> {
        let done = sqlx::query("INSERT INTO trigger_files (trigger_id, path, modified, seen_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(path)
            .bind(modified)
            .bind(clock::now())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn trigger_from_row(row: &AnyRow) -> Result<Trigger> {
    Ok(Trigger {
        id: row.try_get("id")?,
        pipeline: row.try_get("pipeline")?,
        name: row.try_get("name")?,
        spec: json_column(row, "spec")?,
        variables: json_column(row, "variables")?,
        catch_up: CatchUp::parse(&row.try_get::<String, _>("catch_up")?)?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        source: row.try_get("source")?,
        created_at: row.try_get("created_at")?,
        next_fire_at: row.try_get("next_fire_at")?,
        last_fired_at: row.try_get("last_fired_at")?,
        last_run_id: row.try_get("last_run_id")?,
        last_outcome: row.try_get("last_outcome")?,
    })
}
