//! The data that flows between loaders, transformers and trainers: a table (split into
//! train and test parts once a `split` ran), its label, the fitted steps so far, and the
//! version of the dataset it was loaded as.

use crate::clock;
use crate::error::Result;
use crate::pipeline::context::BlockContext;
use crate::store::DatasetRecord;
use crate::table::steps::{kinds, FittedStep, Kind};
use crate::table::{Table, Values};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A table on its way to a trainer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionedDataset {
    /// The whole table before a split, the training part after.
    pub train: Table,
    /// The test part, once split.
    pub test: Option<Table>,
    /// The label column, when known (loaders set it; `rename_columns` follows it).
    pub label: Option<String>,
    /// Fitted steps so far, in order: what the served model replays on a request.
    pub steps: Vec<FittedStep>,
    /// The columns the first fitted step saw: the raw request schema of a served model.
    pub inputs: Vec<(String, Kind)>,
    /// The loaded dataset's version (none for a command block that wrote no table).
    pub record: Option<DatasetRecord>,
    /// Whether an earlier run had already produced the same data.
    pub reused: bool,
    /// Where an exporter block wrote this table (set on an exporter's output only).
    #[serde(default)]
    pub exported: Option<Exported>,
}

/// What an exporter block wrote: the table passes through it with this record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exported {
    /// Where it went (`postgres://etl:***@db/sales table analytics.daily`, a file path,
    /// `s3://bucket/key`), with secret values masked: it is stored with the run.
    pub destination: String,
    /// Rows written.
    pub rows: u64,
    /// `csv` or `arrow` for files, `replace` or `append` for database tables.
    pub how: String,
}

impl VersionedDataset {
    /// A new dataset from a loader: no split, no step.
    pub fn loaded(
        table: Table,
        label: Option<String>,
        record: Option<DatasetRecord>,
        reused: bool,
    ) -> VersionedDataset {
        VersionedDataset {
            inputs: kinds(&table),
            train: table,
            test: None,
            label,
            steps: Vec::new(),
            record,
            reused,
            exported: None,
        }
    }

    /// The same data with `step` applied to every part and recorded.
    pub fn with_step(&self, step: FittedStep) -> Result<VersionedDataset> {
        let mut next = self.clone();
        // The step's output is a new table, which no exporter wrote.
        next.exported = None;
        next.train = step.apply(&self.train)?;
        next.test = self.test.as_ref().map(|t| step.apply(t)).transpose()?;
        if let (FittedStep::Rename { from, to }, Some(label)) = (&step, &mut next.label) {
            if let Some(i) = from.iter().position(|f| f == label) {
                *label = to[i].clone();
            }
        }
        next.steps.push(step);
        Ok(next)
    }

    /// The label, or the configured override, or an error naming the config field.
    pub fn label_or(&self, configured: Option<&String>) -> Result<String> {
        configured.or(self.label.as_ref()).cloned().ok_or_else(|| {
            crate::Error::invalid_field("target", "the data has no label column: set target")
        })
    }

    /// Numeric columns other than the label (the default columns of impute and scale).
    pub fn numeric_features(&self) -> Vec<String> {
        self.train
            .columns()
            .iter()
            .filter(|c| {
                matches!(c.values, Values::Number(_)) && Some(&c.name) != self.label.as_ref()
            })
            .map(|c| c.name.clone())
            .collect()
    }

    pub(super) fn preview(&self) -> Value {
        let mut preview = self.train.preview();
        preview["label"] = json!(self.label);
        preview["steps"] = json!(self.steps.iter().map(FittedStep::name).collect::<Vec<_>>());
        if let Some(test) = &self.test {
            preview["train_rows"] = json!(self.train.rows());
            preview["test_rows"] = json!(test.rows());
            preview["rows"] = json!(self.train.rows() + test.rows());
        }
        if let Some(record) = &self.record {
            preview["data_version"] = json!(record.version);
            preview["hash"] = json!(record.hash);
            preview["label_rate"] = json!(record.label_rate);
            preview["reused"] = json!(self.reused);
        }
        if let Some(exported) = &self.exported {
            preview["exported"] = json!(exported);
        }
        preview
    }
}

/// Fingerprint a loaded table and record its version, reusing the version of identical data.
pub(crate) async fn version_table(
    ctx: &BlockContext,
    table: Table,
    label: Option<String>,
) -> Result<VersionedDataset> {
    let store = &ctx.services.datasets;
    let (table, bytes, hash) = ctx
        .blocking(move || {
            let bytes = table.canonical_bytes();
            let hash = crate::artifacts::sha256_ref(&bytes);
            Ok((table, bytes, hash))
        })
        .await?;
    let (record, reused) = match store.dataset_by_hash(&hash).await? {
        Some(existing) => (existing, true),
        None => {
            let artifact = ctx.services.artifacts.put(&bytes)?;
            let feature_names: Vec<String> = table
                .names()
                .into_iter()
                .filter(|n| Some(n) != label.as_ref())
                .collect();
            let base = DatasetRecord {
                version: format!("data_v_{}", clock::version_stamp(chrono::Utc::now())),
                hash: hash.clone(),
                row_count: table.rows() as i64,
                feature_count: feature_names.len() as i64,
                feature_names,
                label: label.clone().unwrap_or_default(),
                label_rate: label.as_deref().map_or(0.0, |l| positive_rate(&table, l)),
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
    if !record.label.is_empty() {
        ctx.log(format!(
            "   {} rate: {:.2}%",
            record.label,
            record.label_rate * 100.0
        ));
    }
    ctx.log(format!(
        "   Shape: ({}, {})",
        record.row_count,
        table.columns().len()
    ));
    Ok(VersionedDataset::loaded(table, label, Some(record), reused))
}

/// The label of a table a block's code produced: the configured one (which must be a column),
/// else the first upstream label that is still a column.
pub(super) fn output_label(
    table: &Table,
    configured: Option<&String>,
    upstream: &[std::sync::Arc<VersionedDataset>],
) -> Result<Option<String>> {
    match configured {
        Some(label) => {
            table
                .column(label)
                .map_err(|e| e.with_field("config.label"))?;
            Ok(Some(label.clone()))
        }
        None => Ok(upstream
            .iter()
            .filter_map(|d| d.label.clone())
            .find(|l| table.column(l).is_ok())),
    }
}

/// Share of rows whose label is 1 (0 for a text or regression label).
fn positive_rate(table: &Table, label: &str) -> f64 {
    match table.column(label).map(|c| &c.values) {
        Ok(Values::Number(v)) if !v.is_empty() => {
            v.iter().filter(|&&x| x == 1.0).count() as f64 / v.len() as f64
        }
        _ => 0.0,
    }
}
