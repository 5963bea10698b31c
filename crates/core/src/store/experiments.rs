//! Experiments: named groups of tracking runs, with tags and a lifecycle (active, deleted).

use super::tracking::{check_key, key_values, now_ms, KeyValue};
use super::TrackingStore;
use crate::error::{Error, ErrorCode, Result};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// An experiment: a named group of tracking runs.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Experiment {
    /// Decimal id ("0" is Default).
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `mlflow-artifacts:/<id>`.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Epoch milliseconds.
    pub last_update_time: i64,
    /// Tags.
    pub tags: Vec<KeyValue>,
}

/// Which lifecycle stages a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewType {
    /// `active` only (the default).
    ActiveOnly,
    /// `deleted` only.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// Parse MLflow's names (`ACTIVE_ONLY`, `DELETED_ONLY`, `ALL`); absent means active only.
    pub fn parse(text: Option<&str>, field: &str) -> Result<ViewType> {
        match text.unwrap_or("ACTIVE_ONLY") {
            "ACTIVE_ONLY" | "" => Ok(ViewType::ActiveOnly),
            "DELETED_ONLY" => Ok(ViewType::DeletedOnly),
            "ALL" => Ok(ViewType::All),
            other => Err(Error::invalid_field(
                field,
                format!("unknown view type {other:?}: expected ACTIVE_ONLY, DELETED_ONLY or ALL"),
            )),
        }
    }

    /// The SQL condition on a `lifecycle_stage` column.
    pub(crate) fn condition(self, column: &str) -> String {
        match self {
            ViewType::ActiveOnly => format!("{column} = 'active'"),
            ViewType::DeletedOnly => format!("{column} = 'deleted'"),
            ViewType::All => "1 = 1".into(),
        }
    }
}

const EXPERIMENT_COLUMNS: &str =
    "id, name, artifact_location, lifecycle_stage, created_ms, updated_ms";

impl TrackingStore {
    /// Create an experiment; its id is one past the largest. A taken name is a conflict.
    pub async fn create_experiment(&self, name: &str, tags: &[KeyValue]) -> Result<i64> {
        if name.trim().is_empty() {
            return Err(Error::invalid_field(
                "name",
                "experiment name must not be empty",
            ));
        }
        for _ in 0..20 {
            if self.experiment_by_name(name).await.is_ok() {
                return Err(Error::already_exists(format!(
                    "Experiment(name={name}) already exists"
                )));
            }
            let now = now_ms();
            let mut tx = self.begin_write().await?;
            let inserted = sqlx::query("INSERT INTO experiments (id, name, artifact_location, lifecycle_stage, created_ms, updated_ms) SELECT COALESCE(MAX(id), 0) + 1, $1, '', 'active', $2, $2 FROM experiments RETURNING id")
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await;
            match inserted.map_err(Error::from) {
                Ok(row) => {
                    let id: i64 = row.try_get("id")?;
                    sqlx::query("UPDATE experiments SET artifact_location = $2 WHERE id = $1")
                        .bind(id)
                        .bind(format!("mlflow-artifacts:/{id}"))
                        .execute(&mut *tx)
                        .await?;
                    for tag in tags {
                        check_key("tags.key", &tag.key)?;
                        sqlx::query("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value")
                            .bind(id).bind(&tag.key).bind(&tag.value)
                            .execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    return Ok(id);
                }
                // Lost the race for the id (or the name: the loop's check tells which).
                Err(e) if e.code == ErrorCode::AlreadyExists => tx.rollback().await?,
                Err(e) => return Err(e),
            }
        }
        Err(Error::internal(format!(
            "could not number experiment {name:?}"
        )))
    }

    /// One experiment by id.
    pub async fn experiment(&self, id: i64) -> Result<Experiment> {
        let row = sqlx::query(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("No Experiment with id={id} exists")))?;
        self.experiment_from_row(&row).await
    }

    /// One experiment by name.
    pub async fn experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let row = sqlx::query(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("Could not find experiment with name '{name}'")))?;
        self.experiment_from_row(&row).await
    }

    /// Experiments, newest first, `limit` from `offset`.
    pub async fn search_experiments(
        &self,
        view: ViewType,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Experiment>> {
        let rows = sqlx::query(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE {} ORDER BY created_ms DESC, id DESC LIMIT $1 OFFSET $2",
            view.condition("lifecycle_stage")
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.experiment_from_row(row).await?);
        }
        Ok(out)
    }

    /// Set one experiment tag.
    pub async fn set_experiment_tag(&self, id: i64, tag: &KeyValue) -> Result<()> {
        check_key("key", &tag.key)?;
        self.experiment(id).await?;
        sqlx::query("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value")
            .bind(id)
            .bind(&tag.key)
            .bind(&tag.value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Mark an experiment `deleted` or `active` again.
    pub async fn set_experiment_lifecycle(&self, id: i64, stage: &str) -> Result<()> {
        if id == 0 && stage == "deleted" {
            return Err(Error::invalid_field(
                "experiment_id",
                "the Default experiment cannot be deleted",
            ));
        }
        let done = sqlx::query(
            "UPDATE experiments SET lifecycle_stage = $2, updated_ms = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(stage)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No Experiment with id={id} exists"
            )));
        }
        Ok(())
    }

    /// The experiment named `name`, created when missing (a pipeline's experiment).
    pub async fn ensure_experiment(&self, name: &str) -> Result<i64> {
        match self.experiment_by_name(name).await {
            Ok(e) => Ok(e.id),
            Err(e) if e.code == ErrorCode::NotFound => {
                match self.create_experiment(name, &[]).await {
                    Ok(id) => Ok(id),
                    // Created meanwhile by someone else.
                    Err(e) if e.code == ErrorCode::AlreadyExists => {
                        Ok(self.experiment_by_name(name).await?.id)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn experiment_from_row(&self, row: &AnyRow) -> Result<Experiment> {
        let id: i64 = row.try_get("id")?;
        let tags = key_values(
            sqlx::query(
                "SELECT key, value FROM experiment_tags WHERE experiment_id = $1 ORDER BY key",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?,
        )?;
        Ok(Experiment {
            id,
            name: row.try_get("name")?,
            artifact_location: row.try_get("artifact_location")?,
            lifecycle_stage: row.try_get("lifecycle_stage")?,
            creation_time: row.try_get("created_ms")?,
            last_update_time: row.try_get("updated_ms")?,
            tags,
        })
    }
}
