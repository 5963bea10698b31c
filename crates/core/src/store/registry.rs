//! The model registry's tables: registered models, numbered versions with stages,
//! the audit trail of transitions, and deployment decisions.

use super::audit::{insert_transition, Audit};
use super::registry_policy::apply_gates;
use super::versions::{
    version_from_row, Deployment, ModelSummary, ModelVersion, NewVersion, Transition,
    VERSION_COLUMNS,
};
use super::{json_column, RegistryStore};
use crate::clock;
use crate::error::{Error, ErrorCode, Result};
use sqlx::Row;

const INSERT_COLUMNS: &str = "model, version, label, stage, run_id, dataset_version, artifacts, metrics, hyperparameters, lineage, created_at";

impl RegistryStore {
    /// Register a new version (creating the model on first use), numbered one past the last.
    pub async fn create_version(&self, new: NewVersion) -> Result<ModelVersion> {
        let now = clock::now();
        sqlx::query("INSERT INTO registered_models (name, description, created_at, updated_at) VALUES ($1, '', $2, $2) ON CONFLICT (name) DO NOTHING")
            .bind(&new.model)
            .bind(&now)
            .execute(&self.writer)
            .await?;
        // Two writers may pick the same number or label at once; the primary key and the
        // unique label reject the loser. It tries the next label candidate only if its label is
        // taken: a writer that merely lost the race for the number keeps its label.
        let mut n = 1;
        for _ in 0..50 {
            let label = clock::nth_candidate(&new.label, n);
            // The version and its audit entry are written together or not at all.
            let mut tx = self.begin_write().await?;
            let inserted = sqlx::query(&format!(
                "INSERT INTO model_versions ({INSERT_COLUMNS}) SELECT $1, COALESCE(MAX(version), 0) + 1, $2, 'None', $3, $4, $5, $6, $7, $8, $9 FROM model_versions WHERE model = $1 RETURNING version"
            ))
            .bind(&new.model)
            .bind(&label)
            .bind(new.run_id.as_deref())
            .bind(new.dataset_version.as_deref())
            .bind(serde_json::to_string(&new.artifacts)?)
            .bind(serde_json::Value::Object(new.metrics.clone()).to_string())
            .bind(serde_json::Value::Object(new.hyperparameters.clone()).to_string())
            .bind(new.lineage.to_string())
            .bind(&now)
            .fetch_one(&mut *tx)
            .await;
            match inserted.map_err(Error::from) {
                Ok(row) => {
                    let version: i64 = row.try_get("version")?;
                    let registered = Audit::by("system", "registered", &now);
                    insert_transition(&mut tx, &new.model, version, "None", "None", &registered)
                        .await?;
                    // The gates' verdict is part of the registration: no window in which
                    // the version exists without it.
                    apply_gates(&mut tx, &new.model, version, &new.metrics, &now).await?;
                    tx.commit().await?;
                    self.apply_keep_latest(&new.model).await?;
                    return self.version(&new.model, version).await;
                }
                Err(e) if e.code == ErrorCode::AlreadyExists => {
                    tx.rollback().await?;
                    let taken =
                        sqlx::query("SELECT 1 FROM model_versions WHERE model = $1 AND label = $2")
                            .bind(&new.model)
                            .bind(&label)
                            .fetch_optional(&self.pool)
                            .await?
                            .is_some();
                    if taken {
                        // Candidates are taken in order, so the labels starting with the base
                        // count those taken: go past them at once. One at a time, a burst of
                        // more registrations in one second than this loop's tries failed.
                        let row = sqlx::query("SELECT COUNT(*) AS n FROM model_versions WHERE model = $1 AND substr(label, 1, length($2)) = $2")
                            .bind(&new.model)
                            .bind(&new.label)
                            .fetch_one(&self.pool)
                            .await?;
                        n = (n + 1).max(row.try_get::<i64, _>("n")? as usize + 1);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::internal(format!(
            "could not number a new version of {:?}",
            new.model
        )))
    }

    /// One version.
    pub async fn version(&self, model: &str, version: i64) -> Result<ModelVersion> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND version = $2 AND deleted_at IS NULL"
        ))
        .bind(model)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("model {model:?} has no version {version}")))?;
        version_from_row(&row)
    }

    /// The version of `model` in Production, if any.
    pub async fn production_version(&self, model: &str) -> Result<Option<ModelVersion>> {
        let row = sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND stage = 'Production' AND deleted_at IS NULL"))
            .bind(model)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// Every model with its versions.
    pub async fn list_models(&self) -> Result<Vec<ModelSummary>> {
        let models = sqlx::query("SELECT name, description FROM registered_models ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(models.len());
        for m in &models {
            let name: String = m.try_get("name")?;
            let versions = self.versions(&name).await?;
            out.push(ModelSummary {
                name,
                description: m.try_get("description")?,
                versions,
            });
        }
        Ok(out)
    }

    /// Versions of one model, newest first.
    pub async fn versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND deleted_at IS NULL ORDER BY version DESC"
        ))
        .bind(model)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// The audit trail of a model, oldest first.
    pub async fn transitions(&self, model: &str) -> Result<Vec<Transition>> {
        let rows = sqlx::query("SELECT model, version, from_stage, to_stage, actor, reason, created_at, approvers, request_id FROM transitions WHERE model = $1 ORDER BY id")
            .bind(model)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Transition {
                    model: r.try_get("model")?,
                    version: r.try_get("version")?,
                    from_stage: r.try_get("from_stage")?,
                    to_stage: r.try_get("to_stage")?,
                    actor: r.try_get("actor")?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                    approvers: json_column(r, "approvers")?,
                    request_id: r.try_get("request_id")?,
                })
            })
            .collect()
    }

    /// Record a deploy block's decision.
    pub async fn record_deployment(&self, d: &Deployment) -> Result<()> {
        sqlx::query("INSERT INTO deployments (model, version, run_id, status, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&d.model)
            .bind(d.version)
            .bind(d.run_id.as_deref())
            .bind(&d.status)
            .bind(&d.reason)
            .bind(&d.created_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Deployment decisions about a model, newest first.
    pub async fn deployments(&self, model: &str) -> Result<Vec<Deployment>> {
        let rows = sqlx::query("SELECT model, version, run_id, status, reason, created_at FROM deployments WHERE model = $1 ORDER BY id DESC")
            .bind(model)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Deployment {
                    model: r.try_get("model")?,
                    version: r.try_get("version")?,
                    run_id: r.try_get("run_id")?,
                    status: r.try_get("status")?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
