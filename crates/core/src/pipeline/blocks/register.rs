//! `register_model`: store the model's artifacts and record a new registry version with its
//! metrics, hyperparameters and lineage (code state read with git2, data version).

use super::{single_input, Output};
use crate::clock;
use crate::error::{Error, Result};
use crate::lineage::code_lineage;
use crate::model::{FeatureSchema, ModelBundle, Preprocessing};
use crate::pipeline::engine::BlockContext;
use crate::store::{ModelVersion, NewVersion};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Registered model name.
    pub model: String,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        crate::names::check_model_name(&self.model).map_err(|e| e.with_field("model"))
    }
}

/// The version the block registered.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Registered {
    /// The new version.
    pub version: ModelVersion,
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let trained = single_input!(inputs, Trained);
    let prepared = &trained.prepared;
    let dataset = &prepared.dataset;
    let bundle = ModelBundle {
        forest: trained.forest.clone(),
        preprocessing: Preprocessing {
            imputer: prepared.imputer.clone(),
            scaler: prepared.scaler.clone(),
        },
        schema: FeatureSchema::binary(
            dataset.data.feature_names.clone(),
            &dataset.data.label_name,
            trained.threshold,
        ),
    };
    let artifacts = ctx.platform.artifacts.clone();
    let refs = ctx.blocking(move || bundle.save(&artifacts)).await?;
    let training_block = ctx
        .pipeline
        .blocks
        .iter()
        .find(|b| b.kind.output() == super::Port::Trained)
        .map(|b| format!("{}#{}", ctx.pipeline.file, b.name))
        .ok_or_else(|| Error::internal("no training block upstream"))?;
    let project_dir = ctx.platform.project.root().to_path_buf();
    let code = ctx
        .blocking(move || Ok(code_lineage(&project_dir, &training_block)))
        .await?;
    let lineage = json!({
        "code_lineage": code,
        "data_lineage": {"version": dataset.record.version, "hash": dataset.record.hash},
        "pipeline": {"name": ctx.pipeline.name, "file": ctx.pipeline.file, "file_hash": ctx.pipeline.file_hash},
    });
    let version = ctx
        .platform
        .store
        .create_version(NewVersion {
            model: config.model.clone(),
            label: format!("v_{}", clock::version_stamp(chrono::Utc::now())),
            run_id: Some(ctx.run_id.clone()),
            dataset_version: Some(dataset.record.version.clone()),
            artifacts: refs,
            metrics: trained.metrics_map(),
            hyperparameters: trained.hyperparameters.clone(),
            lineage,
        })
        .await?;
    ctx.log("✅ Model registered successfully!");
    ctx.log(format!(
        "   Model: {} version {} ({})",
        version.model, version.version, version.label
    ));
    ctx.log(format!("   Accuracy: {:.4}", trained.metrics.accuracy));
    ctx.log(format!("   AUC Score: {:.4}", trained.metrics.auc_score));
    ctx.log(format!(
        "   Git Commit: {}",
        code.git_commit.as_deref().unwrap_or("none")
    ));
    ctx.log(format!("   Model artifact: {}", version.artifacts.model));
    Ok(Output::Registered(Arc::new(Registered { version })))
}

impl Registered {
    pub(super) fn preview(&self) -> Value {
        let v = &self.version;
        json!({"model": v.model, "version": v.version, "label": v.label, "stage": v.stage.as_str(), "artifacts": v.artifacts, "lineage": v.lineage})
    }
}
