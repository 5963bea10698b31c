//! `synthetic_churn`: generate the demo's customers, fingerprint and version them.

use super::Output;
use crate::clock;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::pipeline::engine::BlockContext;
use crate::store::DatasetRecord;
use crate::synthetic::{churn_customers, ChurnSpec};
use serde_json::{json, Value};
use std::sync::Arc;

/// The block's config.
pub type Config = ChurnSpec;

/// A dataset in canonical form with its version record.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct VersionedDataset {
    /// The rows, canonical (what the fingerprint covers).
    pub data: Dataset,
    /// Its version in the store.
    pub record: DatasetRecord,
    /// Whether an earlier run had already produced the same data.
    pub reused: bool,
}

pub(super) async fn run(
    ctx: &BlockContext,
    config: Config,
    _inputs: Vec<Output>,
) -> Result<Output> {
    let data = ctx
        .blocking(move || Ok(churn_customers(&config)?.canonical()))
        .await?;
    let versioned = version_dataset(ctx, data).await?;
    Ok(Output::Dataset(Arc::new(versioned)))
}

/// Fingerprint a canonical dataset and record it, reusing the version of identical data.
pub(crate) async fn version_dataset(ctx: &BlockContext, data: Dataset) -> Result<VersionedDataset> {
    let store = &ctx.platform.store;
    let (bytes, hash) = ctx
        .blocking({
            let data = data.clone();
            move || {
                let bytes = data.canonical_bytes();
                let hash = crate::artifacts::sha256_ref(&bytes);
                Ok((bytes, hash))
            }
        })
        .await?;
    let (record, reused) = match store.dataset_by_hash(&hash).await? {
        Some(existing) => (existing, true),
        None => {
            let artifact = ctx.platform.artifacts.put(&bytes)?;
            let base = DatasetRecord {
                version: format!("data_v_{}", clock::version_stamp(chrono::Utc::now())),
                hash: hash.clone(),
                row_count: data.rows() as i64,
                feature_count: data.feature_names.len() as i64,
                feature_names: data.feature_names.clone(),
                label: data.label_name.clone(),
                label_rate: data.label_rate(),
                artifact,
                run_id: Some(ctx.run_id.clone()),
                created_at: clock::now(),
            };
            let record = store.register_dataset(base).await?;
            let reused = record.run_id.as_deref() != Some(ctx.run_id.as_str());
            (record, reused)
        }
    };
    ctx.log(format!("✅ Loaded {} records", record.row_count));
    ctx.log(format!(
        "   Data Version: {}{}",
        record.version,
        if reused {
            " (same data as before, version reused)"
        } else {
            ""
        }
    ));
    ctx.log(format!("   Data Hash: {}", record.hash));
    ctx.log(format!(
        "   {} rate: {:.2}%",
        record.label,
        record.label_rate * 100.0
    ));
    ctx.log(format!(
        "   Shape: ({}, {})",
        record.row_count,
        record.feature_count + 1
    ));
    Ok(VersionedDataset {
        data,
        record,
        reused,
    })
}

impl VersionedDataset {
    pub(super) fn preview(&self) -> Value {
        let missing = self.data.missing_counts();
        let schema: Vec<Value> = self
            .data
            .feature_names
            .iter()
            .zip(&missing)
            .map(|(name, m)| json!({"name": name, "type": "float", "missing": m}))
            .chain(std::iter::once(
                json!({"name": self.data.label_name, "type": "label", "missing": 0}),
            ))
            .collect();
        let rows: Vec<Value> = (0..self.data.rows().min(5))
            .map(|r| {
                let mut row: serde_json::Map<String, Value> = self
                    .data
                    .feature_names
                    .iter()
                    .enumerate()
                    .map(|(c, name)| (name.clone(), number(self.data.features[[r, c]])))
                    .collect();
                row.insert(self.data.label_name.clone(), json!(self.data.labels[r]));
                Value::Object(row)
            })
            .collect();
        json!({
            "schema": schema,
            "rows": rows,
            "stats": {
                "data_version": self.record.version,
                "hash": self.record.hash,
                "row_count": self.record.row_count,
                "feature_count": self.record.feature_count,
                "label_rate": self.record.label_rate,
                "reused": self.reused,
            }
        })
    }
}

/// A float as JSON, with null for a missing (NaN) value.
pub(crate) fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
