//! `register_model`: store the model's artifacts and record a new registry version with its
//! metrics, hyperparameters and lineage (code state read with git2, data version).

use super::output::{single_input, Output, Registered};
use crate::clock;
use crate::error::{Error, Result};
use crate::lineage::code_lineage;
use crate::model::{FeatureSchema, ModelBundle, Preprocessing, Task};
use crate::pipeline::context::BlockContext;
use crate::store::NewVersion;
use crate::table::steps::FittedStep;
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

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let trained = single_input!(inputs, Trained);
    let data = &trained.data;
    let dataset = data.record.as_ref().ok_or_else(|| {
        Error::invalid("the training data has no dataset version (a command block wrote no table)")
    })?;
    let classes = match trained.task {
        Task::Classification => vec![format!("no_{}", trained.label), trained.label.clone()],
        Task::Regression => Vec::new(),
    };
    let schema = FeatureSchema {
        inputs: data.inputs.clone(),
        features: trained.features.clone(),
        label: raw_label(&data.steps, &trained.label),
        task: trained.task,
        classes,
        threshold: trained.threshold,
    };
    let preprocessing = Preprocessing {
        steps: data.steps.clone(),
    };
    // Built (and so checked) before anything is stored: a bundle that cannot serve is refused.
    let bundle = ModelBundle::new(trained.model.clone(), preprocessing, schema)?;
    let artifacts = ctx.services.artifacts.clone();
    let refs = ctx.blocking(move || bundle.save(&artifacts)).await?;
    let training_block = ctx
        .pipeline
        .blocks
        .iter()
        .find(|b| b.trains)
        .map(|b| format!("{}#{}", ctx.pipeline.file, b.name))
        .ok_or_else(|| Error::internal("no training block upstream"))?;
    let project_dir = ctx.services.project_root.clone();
    let code = ctx
        .blocking(move || Ok(code_lineage(&project_dir, &training_block)))
        .await?;
    let lineage = json!({
        "code_lineage": code,
        "data_lineage": {"version": dataset.version, "hash": dataset.hash},
        "pipeline": {"name": ctx.pipeline.name, "file": ctx.pipeline.file, "file_hash": ctx.pipeline.file_hash},
    });
    let version = ctx
        .services
        .registry
        .register_version(NewVersion {
            model: config.model.clone(),
            label: format!("v_{}", clock::version_stamp(chrono::Utc::now())),
            run_id: Some(ctx.run_id.clone()),
            dataset_version: Some(dataset.version.clone()),
            artifacts: refs,
            metrics: trained.metrics.clone(),
            hyperparameters: trained.hyperparameters.clone(),
            lineage,
        })
        .await?;
    ctx.log("✅ Model registered successfully!");
    ctx.log(format!(
        "   Model: {} version {} ({})",
        version.model, version.version, version.label
    ));
    let headline = [
        ("accuracy", "Accuracy"),
        ("auc_score", "AUC Score"),
        ("rmse", "RMSE"),
        ("rmspe", "RMSPE"),
    ];
    for (key, name) in headline {
        if let Some(v) = trained.metrics.get(key).and_then(Value::as_f64) {
            ctx.log(format!("   {name}: {v:.4}"));
        }
    }
    ctx.log(format!(
        "   Git Commit: {}",
        code.git_commit.as_deref().unwrap_or("none")
    ));
    ctx.log(format!("   Model artifact: {}", version.artifacts.model));
    let evaluation = trained.evaluation.clone();
    Ok(Output::Registered(Arc::new(Registered {
        version,
        evaluation,
    })))
}

/// The label's name in the raw input (what requests do not carry): undo the renames.
fn raw_label(steps: &[FittedStep], label: &str) -> String {
    let mut name = label.to_string();
    for step in steps.iter().rev() {
        if let FittedStep::Rename { from, to } = step {
            if let Some(i) = to.iter().position(|t| *t == name) {
                name = from[i].clone();
            }
        }
    }
    name
}
