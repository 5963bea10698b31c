//! `register_model`: store the model's artifacts and record a new registry version with its
//! metrics, hyperparameters and lineage (code state read with git2, data version). The
//! version's MLflow model folder is written under the run's artifacts first, so that the
//! MLflow client can load any version a pipeline registers.

use super::output::{single_input, Output, Registered};
use crate::clock;
use crate::error::{Error, ErrorCode, Result};
use crate::lineage::code_lineage;
use crate::model::{FeatureSchema, ModelBundle, Preprocessing, Task};
use crate::pipeline::context::BlockContext;
use crate::pyfunc::{self, Origin, ARTIFACT_PATH};
use crate::store::{ArtifactRefs, MlflowFolder, NewVersion};
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
    let mlflow_folder = write_mlflow_folder(ctx, &refs).await?;
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
    let mut lineage = json!({
        "code_lineage": code,
        "data_lineage": {"version": dataset.version, "hash": dataset.hash},
        "pipeline": {"name": ctx.pipeline.name, "file": ctx.pipeline.file, "file_hash": ctx.pipeline.file_hash},
    });
    if let Some(folder) = &mlflow_folder {
        lineage[MlflowFolder::LINEAGE_KEY] = folder.lineage();
    }
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
    if let Some(folder) = &mlflow_folder {
        ctx.log(format!(
            "   MLflow model: {} (mlflow.pyfunc.load_model(\"models:/{}/{}\"))",
            folder.source, version.model, version.version
        ));
    }
    let evaluation = trained.evaluation.clone();
    Ok(Output::Registered(Arc::new(Registered {
        version,
        evaluation,
    })))
}

/// Write the version's MLflow model folder ([`crate::pyfunc`]) under the run's artifacts,
/// indexed so that the MLflow artifact proxy serves it. `None` when the run has no tracking
/// run to hold it (a run recorded before pipeline runs had tracking runs).
async fn write_mlflow_folder(
    ctx: &BlockContext,
    refs: &ArtifactRefs,
) -> Result<Option<MlflowFolder>> {
    let run = match ctx.services.tracking.tracking_run_info(&ctx.run_id).await {
        Ok(run) => run,
        Err(e) if e.code == ErrorCode::NotFound => {
            ctx.log("   No tracking run: no MLflow model folder written");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let artifact_path = artifact_path(ctx);
    let folder = format!("{}/{artifact_path}", run.artifact_path());
    let origin = Origin {
        run_id: ctx.run_id.clone(),
        artifact_path: artifact_path.clone(),
        created: chrono::Utc::now(),
        model_uuid: uuid::Uuid::new_v4().simple().to_string(),
    };
    let (artifacts, refs) = (ctx.services.artifacts.clone(), refs.clone());
    let stored = ctx
        .blocking(move || {
            // Exported from the stored artifacts, read back as the prediction service reads
            // them, so that the folder holds the very numbers the service scores with.
            let bundle = ModelBundle::load(&artifacts, &refs)?;
            pyfunc::model_folder(&bundle, &origin)?
                .into_iter()
                .map(|(path, bytes)| Ok((path, artifacts.put(&bytes)?, bytes.len() as i64)))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    for (path, sha, size) in stored {
        ctx.services
            .tracking
            .index_artifact(&format!("{folder}/{path}"), &sha, size)
            .await?;
    }
    Ok(Some(MlflowFolder {
        source: format!("runs:/{}/{artifact_path}", ctx.run_id),
        folder,
    }))
}

/// `model`; `model_<block>` when the pipeline registers several models, one folder each.
fn artifact_path(ctx: &BlockContext) -> String {
    let registering = ctx
        .pipeline
        .blocks
        .iter()
        .filter(|b| b.kind == "register_model")
        .count();
    if registering > 1 {
        format!("{ARTIFACT_PATH}_{}", ctx.block_name())
    } else {
        ARTIFACT_PATH.to_string()
    }
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
