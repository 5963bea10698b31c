//! Stage moves inside a transaction, each written to the audit log with who, why and the
//! approvals behind it. Every path that changes a stage (transition, gates, approvals,
//! rollback, keep-latest-N, deletion) goes through here.

use super::versions::{version_from_row, Stage, VERSION_COLUMNS};
use super::ModelVersion;
use crate::error::{Error, Result};
use sqlx::Row;

/// Who moved a version, why, and on whose approval.
#[derive(Debug, Clone)]
pub(crate) struct Audit<'a> {
    /// User name, `pipeline:<run>`, `gate`, `policy`, `system`.
    pub actor: &'a str,
    /// Why.
    pub reason: &'a str,
    /// Users whose approvals executed this move.
    pub approvers: &'a [String],
    /// The approval request it executes.
    pub request_id: Option<i64>,
    /// Timestamp of the move.
    pub now: &'a str,
}

impl<'a> Audit<'a> {
    /// An audit entry without approvals.
    pub fn by(actor: &'a str, reason: &'a str, now: &'a str) -> Audit<'a> {
        Audit {
            actor,
            reason,
            approvers: &[],
            request_id: None,
            now,
        }
    }
}

type Tx<'t> = sqlx::Transaction<'t, sqlx::Any>;

/// Write one audit line.
pub(crate) async fn insert_transition(
    tx: &mut Tx<'_>,
    model: &str,
    version: i64,
    from: &str,
    to: &str,
    audit: &Audit<'_>,
) -> Result<()> {
    sqlx::query("INSERT INTO transitions (model, version, from_stage, to_stage, actor, reason, created_at, approvers, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(model)
        .bind(version)
        .bind(from)
        .bind(to)
        .bind(audit.actor)
        .bind(audit.reason)
        .bind(audit.now)
        .bind(serde_json::to_string(audit.approvers)?)
        .bind(audit.request_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Take the model's write lock: on SQLite the first write of a transaction locks the
/// database; on PostgreSQL the row lock on the model serialises its stage moves.
pub(crate) async fn lock_model(tx: &mut Tx<'_>, model: &str, now: &str) -> Result<()> {
    let touched = sqlx::query("UPDATE registered_models SET updated_at = $2 WHERE name = $1")
        .bind(model)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    if touched.rows_affected() == 0 {
        return Err(Error::not_found(format!("model {model:?} not found")));
    }
    Ok(())
}

/// The current stage of a live (not deleted) version.
pub(crate) async fn stage_of(tx: &mut Tx<'_>, model: &str, version: i64) -> Result<Stage> {
    let row = sqlx::query(
        "SELECT stage FROM model_versions WHERE model = $1 AND version = $2 AND deleted_at IS NULL",
    )
    .bind(model)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(format!("model {model:?} has no version {version}")))?;
    Stage::parse(&row.try_get::<String, _>("stage")?)
}

/// Move a version to `to` (after [`lock_model`]), audited. Moving to Production archives the
/// current Production version first, in the same transaction, so readers never see two.
pub(crate) async fn move_stage(
    tx: &mut Tx<'_>,
    model: &str,
    version: i64,
    to: Stage,
    audit: &Audit<'_>,
) -> Result<ModelVersion> {
    let from = stage_of(tx, model, version).await?;
    if from == to {
        return Err(Error::conflict(format!(
            "version {version} of {model:?} is already in {}",
            to.as_str()
        )));
    }
    if to == Stage::Production {
        let archived = sqlx::query("UPDATE model_versions SET stage = 'Archived' WHERE model = $1 AND stage = 'Production' RETURNING version")
            .bind(model)
            .fetch_all(&mut **tx)
            .await?;
        for old in &archived {
            let old: i64 = old.try_get("version")?;
            let reason = format!("replaced by version {version}");
            let replaced = Audit {
                reason: &reason,
                ..audit.clone()
            };
            insert_transition(tx, model, old, "Production", "Archived", &replaced).await?;
        }
    }
    sqlx::query("UPDATE model_versions SET stage = $3 WHERE model = $1 AND version = $2")
        .bind(model)
        .bind(version)
        .bind(to.as_str())
        .execute(&mut **tx)
        .await?;
    insert_transition(tx, model, version, from.as_str(), to.as_str(), audit).await?;
    // Read the result inside the transaction: read after the commit, a concurrent promotion
    // could already have archived it, and the caller would be told "Archived".
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND version = $2"
    ))
    .bind(model)
    .bind(version)
    .fetch_one(&mut **tx)
    .await?;
    version_from_row(&row)
}
