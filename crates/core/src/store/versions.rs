//! The registry's records: stages, versions, their artifacts, the audit trail's lines and
//! deployment decisions, and how a version is read from its row. Every registry module reads
//! these; this one imports none of them.

use super::json_column;
use super::runs::text_enum;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Registry stage of a model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub enum Stage {
    /// Just registered.
    None,
    /// Under evaluation.
    Staging,
    /// Served. At most one per model, enforced by a unique index.
    Production,
    /// Retired; can be brought back (rollback).
    Archived,
}
text_enum!(Stage { None => "None", Staging => "Staging", Production => "Production", Archived => "Archived" });

impl Stage {
    /// Parse a stage name as users type it (`production`, `Production`, `none`…).
    pub fn parse_user(text: &str) -> Result<Stage> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(Stage::None),
            "staging" => Ok(Stage::Staging),
            "production" => Ok(Stage::Production),
            "archived" => Ok(Stage::Archived),
            _ => Err(Error::invalid_field(
                "stage",
                format!(
                    "unknown stage {text:?}: expected one of None, Staging, Production, Archived"
                ),
            )),
        }
    }
}

/// Content hashes of a version's artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ArtifactRefs {
    /// The fitted model.
    pub model: String,
    /// The preprocessing (imputer and scaler).
    pub scaler: String,
    /// The feature schema.
    pub schema: String,
}

/// What the register step hands to the store.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Model name.
    pub model: String,
    /// Base label `v_YYYYMMDD_HHMMSS`; a suffix is added if taken.
    pub label: String,
    /// The run that trained it.
    pub run_id: Option<String>,
    /// The data version it was trained on.
    pub dataset_version: Option<String>,
    /// Artifact hashes.
    pub artifacts: ArtifactRefs,
    /// Evaluation metrics.
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// Hyperparameters.
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
    /// Code and data lineage captured at training time.
    pub lineage: serde_json::Value,
}

/// A registered model version.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ModelVersion {
    /// Model name.
    pub model: String,
    /// Version number, 1, 2, 3… per model.
    pub version: i64,
    /// `v_YYYYMMDD_HHMMSS` label.
    pub label: String,
    /// Current stage.
    pub stage: Stage,
    /// The run that trained it.
    pub run_id: Option<String>,
    /// The data version it was trained on.
    pub dataset_version: Option<String>,
    /// Artifact hashes.
    pub artifacts: ArtifactRefs,
    /// Evaluation metrics.
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// Hyperparameters.
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
    /// Code and data lineage captured at training time.
    pub lineage: serde_json::Value,
    /// When it was registered.
    pub created_at: String,
    /// Validation gate verdict at registration: `passed`, `failed`, or none (no gates).
    pub gate_status: Option<String>,
    /// Why the gates passed or failed.
    pub gate_reason: Option<String>,
}

/// A model with its versions, newest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ModelSummary {
    /// Model name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Versions, newest first.
    pub versions: Vec<ModelVersion>,
}

/// One audited stage change.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Transition {
    /// Model name.
    pub model: String,
    /// Version number.
    pub version: i64,
    /// Stage before.
    pub from_stage: String,
    /// Stage after.
    pub to_stage: String,
    /// Who asked (user name, `pipeline:<run>`, `system`).
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub created_at: String,
    /// Users whose approvals executed this move (empty when none were needed).
    pub approvers: Vec<String>,
    /// The approval request this move executed, if any.
    pub request_id: Option<i64>,
}

/// One deployment decision of a pipeline's deploy block.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Deployment {
    /// Model name.
    pub model: String,
    /// Version number.
    pub version: i64,
    /// The run that decided.
    pub run_id: Option<String>,
    /// `deployed` or `rejected`.
    pub status: String,
    /// The gate's verdict in words.
    pub reason: String,
    /// When.
    pub created_at: String,
}

pub(crate) const VERSION_COLUMNS: &str = "model, version, label, stage, run_id, dataset_version, artifacts, metrics, hyperparameters, lineage, created_at, gate_status, gate_reason";

pub(crate) fn version_from_row(row: &AnyRow) -> Result<ModelVersion> {
    Ok(ModelVersion {
        model: row.try_get("model")?,
        version: row.try_get("version")?,
        label: row.try_get("label")?,
        stage: Stage::parse(&row.try_get::<String, _>("stage")?)?,
        run_id: row.try_get("run_id")?,
        dataset_version: row.try_get("dataset_version")?,
        artifacts: json_column(row, "artifacts")?,
        metrics: json_column(row, "metrics")?,
        hyperparameters: json_column(row, "hyperparameters")?,
        lineage: json_column(row, "lineage")?,
        created_at: row.try_get("created_at")?,
        gate_status: row.try_get("gate_status")?,
        gate_reason: row.try_get("gate_reason")?,
    })
}
