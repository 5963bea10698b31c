//! `register_model`: store the model's artifacts and record a new registry version with its
//! metrics, hyperparameters and lineage (code state read with git2, data version). The
//! version's MLflow model folder is written under the run's artifacts first, so that the
//! MLflow client can load any version a pipeline registers.

use super::output::{single_input, Output, Registered, Trained, TrainedModel};
use crate::clock;
use crate::environment::Environment;
use crate::error::{Error, ErrorCode, Result};
use crate::lineage::code_lineage;
use crate::model::{FeatureSchema, Model, ModelBundle, Preprocessing, Task};
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
    let (refs, model_lineage) = match &trained.model {
        TrainedModel::Native(model) => {
            let refs = save_bundle(ctx, &trained, model).await?;
            let folder = write_mlflow_folder(ctx, &refs).await?;
            let lineage = folder.map(|f| (MlflowFolder::LINEAGE_KEY, f.lineage()));
            (refs, lineage)
        }
        // The MLflow folder is the model, as for a version the MLflow client registers: the
        // `mlflow` lineage entry makes the prediction service load it by its flavor.
        TrainedModel::Mlflow(m) => {
            let refs = ArtifactRefs {
                model: String::new(),
                scaler: String::new(),
                schema: String::new(),
            };
            let lineage = json!({"source": m.source, "run_id": m.run_id, "model_id": null, "flavor": m.flavor, "class": m.class});
            (refs, Some(("mlflow", lineage)))
        }
    };
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
        "environment": Environment::current(ctx.python_runners().environment()),
    });
    if let Some((key, entry)) = model_lineage {
        lineage[key] = entry;
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
    if !version.artifacts.model.is_empty() {
        ctx.log(format!("   Model artifact: {}", version.artifacts.model));
    }
    let source = (version.mlflow_folder().map(|f| f.source))
        .or_else(|| version.mlflow_source().map(|s| s.source));
    if let Some(source) = source {
        ctx.log(format!(
            "   MLflow model: {source} (mlflow.pyfunc.load_model(\"models:/{}/{}\"))",
            version.model, version.version
        ));
    }
    let evaluation = trained.evaluation.clone();
    Ok(Output::Registered(Arc::new(Registered {
        version,
        evaluation,
    })))
}

/// Save a built-in trainer's model with its preprocessing and feature schema as an ironmage
/// bundle in the artifact store.
async fn save_bundle(ctx: &BlockContext, trained: &Trained, model: &Model) -> Result<ArtifactRefs> {
    let data = &trained.data;
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
    let bundle = ModelBundle::new(model.clone(), preprocessing, schema)?;
    let artifacts = ctx.services.artifacts.clone();
    ctx.blocking(move || bundle.save(&artifacts)).await
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
    let folder = index_model_folder(ctx, &run.artifact_path(), &artifact_path, stored).await?;
    Ok(Some(folder))
}

/// Index stored files (path in the folder, content reference, size) as the MLflow model folder
/// `artifact_path` under the run's artifact folder `run_folder`: the MLflow artifact proxy
/// serves it from there, and the prediction service loads a version whose source it is.
pub(super) async fn index_model_folder(
    ctx: &BlockContext,
    run_folder: &str,
    artifact_path: &str,
    stored: Vec<(String, String, i64)>,
) -> Result<MlflowFolder> {
    let folder = format!("{run_folder}/{artifact_path}");
    for (path, sha, size) in stored {
        ctx.services
            .tracking
            .index_artifact(&format!("{folder}/{path}"), &sha, size)
            .await?;
    }
    Ok(MlflowFolder {
        source: format!("runs:/{}/{artifact_path}", ctx.run_id),
        folder,
    })
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
