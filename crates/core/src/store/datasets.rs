//! Dataset versions: one row per distinct content hash.

use super::{json_column, DatasetStore};
use crate::clock;
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A versioned dataset: its fingerprint, id and statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// `data_v_YYYYMMDD_HHMMSS` (with `_N` appended when two versions share a second).
    pub version: String,
    /// `sha256:<hex>` of the canonical serialisation.
    pub hash: String,
    /// Number of rows.
    pub row_count: i64,
    /// Number of features (label excluded).
    pub feature_count: i64,
    /// Feature names in column order.
    pub feature_names: Vec<String>,
    /// Name of the label column.
    pub label: String,
    /// Share of rows whose label is 1 (the churn rate for demo_mlops).
    pub label_rate: f64,
    /// Artifact hash of the stored snapshot.
    pub artifact: String,
    /// The run that first produced it.
    pub run_id: Option<String>,
    /// When it was first seen.
    pub created_at: String,
}

impl DatasetStore {
    /// The dataset with this content hash, if it was seen before.
    pub async fn dataset_by_hash(&self, hash: &str) -> Result<Option<DatasetRecord>> {
        let row = sqlx::query("SELECT * FROM datasets WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    /// A dataset by version id.
    pub async fn dataset(&self, version: &str) -> Result<DatasetRecord> {
        let row = sqlx::query("SELECT * FROM datasets WHERE version = $1")
            .bind(version)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found(format!("dataset {version:?} not found")))?;
        dataset_from_row(&row)
    }

    /// Record a dataset, or return the existing record when its hash is already known.
    /// `record.version` is a base id; a suffix is added if another dataset took it.
    pub async fn register_dataset(&self, record: DatasetRecord) -> Result<DatasetRecord> {
        for n in 1..=50 {
            if let Some(existing) = self.dataset_by_hash(&record.hash).await? {
                return Ok(existing);
            }
            let version = clock::nth_candidate(&record.version, n);
            let inserted = sqlx::query("INSERT INTO datasets (version, hash, row_count, feature_count, feature_names, label, label_rate, artifact, run_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(&version)
                .bind(&record.hash)
                .bind(record.row_count)
                .bind(record.feature_count)
                .bind(serde_json::to_string(&record.feature_names)?)
                .bind(&record.label)
                .bind(record.label_rate)
                .bind(&record.artifact)
                .bind(record.run_id.as_deref())
                .bind(clock::now())
                .execute(&self.writer)
                .await;
            match inserted.map_err(Error::from) {
                Ok(_) => return self.dataset(&version).await,
                // Either the id or the hash was taken meanwhile: look again.
                Err(e) if e.code == ErrorCode::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::internal(format!(
            "no free dataset version id near {}",
            record.version
        )))
    }
}

fn dataset_from_row(row: &AnyRow) -> Result<DatasetRecord> {
    Ok(DatasetRecord {
        version: row.try_get("version")?,
        hash: row.try_get("hash")?,
        row_count: row.try_get("row_count")?,
        feature_count: row.try_get("feature_count")?,
        feature_names: json_column(row, "feature_names")?,
        label: row.try_get("label")?,
        label_rate: row.try_get("label_rate")?,
        artifact: row.try_get("artifact")?,
        run_id: row.try_get("run_id")?,
        created_at: row.try_get("created_at")?,
    })
}
