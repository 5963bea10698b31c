//! `python`: a block file written the way Mage users write them, run unchanged by the run's
//! Python runner (see `pipeline/python/`).
//!
//! Hand-over through Arrow IPC files in a fresh work folder: each upstream table (both parts of
//! a split one, train rows first) is one positional argument of the block function, a pandas
//! DataFrame; the variables of the run, the block's `params` over them, and Mage's
//! `execution_date`, `run_id`/`pipeline_run_id`, `block_uuid`, `pipeline_uuid` and
//! `configuration` are its keyword arguments. The DataFrame it returns is the block's output
//! table, fingerprinted and versioned like any loaded dataset; None is an empty table.
//!
//! In one item's run of a dynamic block's direct downstream block, the item is handed as Mage
//! hands it: the row as a dict (the value itself for a list of plain values); a dict of values
//! (or a value) returned is one row.
//!
//! As a callback block, the file's `@callback('success')` / `@callback('failure')` (or
//! `@on_success` / `@on_failure`) functions matching the parent's outcome run, with the
//! parent's table as their argument and its name, status and error in their keyword arguments
//! (`parent_block_uuid`, `parent_status`, `parent_error`, Mage's `__error`); a file without
//! them runs its block function.
//!
//! A block with a `register_model` or `evaluate` block downstream trains instead: it returns a
//! fitted model, alone or as `{"model": ..., "metrics": {...}, "params": {...}}`, which the
//! runner saves with MLflow (the flavor of the model's library) into the run's artifacts. Its
//! metrics and params are logged to the run as a built-in trainer's are, and the model goes
//! downstream as a [`TrainedModel::Mlflow`], trained on the first upstream table.

use super::data::{output_label, version_table, VersionedDataset};
use super::output::{MlflowModel, Output, Trained, TrainedModel};
use super::register::index_model_folder;
use super::workdir::WorkDir;
use crate::error::{Error, Result};
use crate::model::Task;
use crate::pipeline::context::BlockContext;
use crate::pipeline::python::{BlockRequest, ReturnedModel};
use crate::pyfunc::ARTIFACT_PATH;
use crate::table::{read_arrow, write_arrow, Table};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The block file, relative to the project folder (or absolute).
    pub file: String,
    /// Keyword arguments of the block function, over the run's variables.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The label column of the output table (default: the upstream label, if it is there).
    #[serde(default)]
    pub label: Option<String>,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        if self.file.trim().is_empty() {
            return Err(Error::invalid_field("file", "name the block's .py file"));
        }
        if !self.file.ends_with(".py") {
            return Err(Error::invalid_field(
                "file",
                format!("{:?} is not a .py file", self.file),
            ));
        }
        for name in self.params.keys() {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
                return Err(Error::invalid_field(
                    format!("params.{name}"),
                    "use letters, digits and _ (it is a Python keyword argument)",
                ));
            }
        }
        Ok(())
    }
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let file = ctx.services.project_root.join(&config.file);
    if !file.is_file() {
        return Err(Error::invalid_field(
            "config.file",
            format!("no file {}", file.display()),
        ));
    }
    let file = file.canonicalize()?;
    let work = WorkDir::create(ctx)?;
    // Upstream `noop` blocks only order the block; the tables are its arguments. In an item
    // run, the dynamic block's is the item.
    let mut items = Vec::new();
    let datasets: Vec<Arc<VersionedDataset>> = match ctx.item_of() {
        Some(dynamic) => {
            let mut datasets = Vec::new();
            for (name, output) in ctx.upstream_names().iter().zip(inputs) {
                if let Output::Dataset(d) = output {
                    if name == dynamic {
                        items.push(datasets.len());
                    }
                    datasets.push(d);
                }
            }
            datasets
        }
        None => inputs
            .into_iter()
            .filter_map(|o| match o {
                Output::Dataset(d) => Some(d),
                _ => None,
            })
            .collect(),
    };
    let started = Instant::now();
    let input_paths = write_inputs(ctx, work.path(), &datasets).await?;
    let handed_over = started.elapsed();
    let output_path = work.path().join("output.arrow");
    let model_dir = work.path().join("model");
    // The pipeline says whether it trains: its port is a model when a block downstream takes one.
    let trains = (ctx.pipeline.blocks.iter()).any(|b| b.name == ctx.block_name() && b.trains);
    let request = BlockRequest {
        file: file.display().to_string(),
        block: ctx.block_name().to_string(),
        inputs: input_paths,
        output: output_path.display().to_string(),
        model_dir: trains.then(|| model_dir.display().to_string()),
        kwargs: kwargs(ctx, &config.params),
        execution_date: ctx.python_runners().started_at().to_rfc3339(),
        callback: ctx.callback_status().map(str::to_string),
        sensor: false,
        items,
    };
    let finished = ctx
        .python_runners()
        .run(&request, &|line| ctx.log(line))
        .await?;
    let ran = format!(
        "{}() (@{}) ran in {:.3} s in Python (inputs read in {:.3} s, output written in {:.3} s){}; \
         inputs written in {:.3} s",
        finished.function,
        finished.decorator,
        finished.seconds,
        finished.read_seconds,
        finished.write_seconds,
        match finished.tests {
            0 => String::new(),
            n => format!(", {n} @test passed"),
        },
        handed_over.as_secs_f64()
    );
    if let Some(returned) = finished.model.clone() {
        let data = datasets.first().cloned().ok_or_else(|| {
            Error::invalid(format!(
                "{}() returned a model but the block has no upstream table to record as its \
                 training data: load the data in an upstream block",
                finished.function
            ))
        })?;
        return trained(ctx, &ran, returned, data, &model_dir).await;
    }
    if !finished.output {
        ctx.log(format!("{ran}; returned None: no output table"));
        return Ok(Output::Dataset(Arc::new(VersionedDataset::loaded(
            Table::default(),
            None,
            None,
            false,
        ))));
    }
    let reading = Instant::now();
    let table = ctx
        .blocking(move || {
            let reader = std::io::BufReader::new(std::fs::File::open(&output_path)?);
            read_arrow(reader, "the returned DataFrame")
        })
        .await?;
    ctx.log(format!(
        "{ran}, output read in {:.3} s",
        reading.elapsed().as_secs_f64()
    ));
    let label = output_label(&table, config.label.as_ref(), &datasets)?;
    Ok(Output::Dataset(Arc::new(
        version_table(ctx, table, label).await?,
    )))
}

/// The model the block returned: its MLflow folder stored in the run's artifacts, its metrics
/// and params logged to the run, handed downstream with the table it was trained on.
async fn trained(
    ctx: &BlockContext,
    ran: &str,
    returned: ReturnedModel,
    data: Arc<VersionedDataset>,
    folder: &Path,
) -> Result<Output> {
    let run_folder = ctx
        .services
        .tracking
        .tracking_run_info(&ctx.run_id)
        .await
        .map_err(|e| e.context("a Python block's model is kept in its run's artifacts"))?
        .artifact_path();
    let (artifacts, folder) = (ctx.services.artifacts.clone(), folder.to_path_buf());
    let stored = ctx
        .blocking(move || {
            model_files(&folder, &folder)?
                .into_iter()
                .map(|(path, bytes)| Ok((path, artifacts.put(&bytes)?, bytes.len() as i64)))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let files = stored.len();
    let bytes: i64 = stored.iter().map(|(_, _, size)| size).sum();
    let indexed = index_model_folder(ctx, &run_folder, &model_path(ctx), stored).await?;
    ctx.log(format!(
        "{ran}; returned a {} saved with mlflow.{} (mlflow {}): {files} files, {bytes} bytes at {}",
        returned.class, returned.flavor, returned.mlflow, indexed.source
    ));
    let mut metrics = returned.metrics;
    if !returned.importances.is_empty() && !metrics.contains_key("feature_importance") {
        let importance = (returned.importances.iter())
            .map(|(name, v)| (name.clone(), json!(v)))
            .collect();
        metrics.insert("feature_importance".into(), Value::Object(importance));
    }
    for (name, value) in &metrics {
        if let Some(v) = value.as_f64() {
            ctx.log(format!("   {name}: {v:.4}"));
        }
    }
    let mut feature_importance = returned.importances;
    feature_importance.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let trained = Trained {
        label: data.label.clone().unwrap_or_default(),
        data,
        model: TrainedModel::Mlflow(MlflowModel {
            source: indexed.source,
            folder: indexed.folder,
            flavor: returned.flavor,
            class: returned.class,
            run_id: ctx.run_id.clone(),
        }),
        task: match returned.task.as_str() {
            "classification" => Task::Classification,
            _ => Task::Regression,
        },
        features: returned.features,
        threshold: 0.5,
        hyperparameters: returned.params,
        metrics,
        feature_importance,
        evaluation: None,
    };
    super::train::log_to_run(ctx, &trained).await?;
    Ok(Output::Trained(Arc::new(trained)))
}

/// Every file under `dir` (the saved model folder): its path relative to `root`, `/`-separated,
/// and its bytes.
fn model_files(root: &Path, dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(model_files(root, &path)?);
        } else {
            let relative = path
                .strip_prefix(root)
                .map_err(|e| Error::internal(e.to_string()))?;
            let name = (relative.components())
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, std::fs::read(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

/// `model` under the run's artifacts, as an MLflow script logs it; `model_<block>` when the
/// pipeline has several training blocks, one folder each.
fn model_path(ctx: &BlockContext) -> String {
    if ctx.pipeline.blocks.iter().filter(|b| b.trains).count() > 1 {
        format!("{ARTIFACT_PATH}_{}", ctx.block_name())
    } else {
        ARTIFACT_PATH.to_string()
    }
}

/// Write each upstream table as an Arrow file; their paths, in upstream order.
pub(super) async fn write_inputs(
    ctx: &BlockContext,
    dir: &Path,
    datasets: &[Arc<VersionedDataset>],
) -> Result<Vec<String>> {
    let mut paths = Vec::with_capacity(datasets.len());
    for (i, data) in datasets.iter().enumerate() {
        let path = dir.join(format!("input_{i}.arrow"));
        let (data, p) = (data.clone(), path.clone());
        ctx.blocking(move || {
            let whole;
            let table = match &data.test {
                Some(test) => {
                    whole = data.train.stacked(test)?;
                    &whole
                }
                None => &data.train,
            };
            let out = std::io::BufWriter::new(std::fs::File::create(&p)?);
            write_arrow(table, out)
        })
        .await?;
        paths.push(path.display().to_string());
    }
    Ok(paths)
}

/// What Mage passes in `**kwargs`: the variables, the params over them, and the run's ids.
pub(super) fn kwargs(ctx: &BlockContext, params: &Map<String, Value>) -> Map<String, Value> {
    let mut kwargs = (*ctx.variables).clone();
    kwargs.extend(params.clone());
    kwargs.insert("run_id".into(), json!(ctx.run_id));
    kwargs.insert("pipeline_run_id".into(), json!(ctx.run_id));
    kwargs.insert("block_uuid".into(), json!(ctx.block_name()));
    kwargs.insert("pipeline_uuid".into(), json!(ctx.pipeline.name));
    kwargs.insert("configuration".into(), Value::Object(params.clone()));
    kwargs
}
