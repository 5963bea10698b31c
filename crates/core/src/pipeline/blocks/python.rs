//! `python`: a block file written the way Mage users write them, run unchanged by the run's
//! Python runner (see `pipeline/python/`).
//!
//! Hand-over through Arrow IPC files in a fresh work folder: each upstream table (both parts of
//! a split one, train rows first) is one positional argument of the block function, a pandas
//! DataFrame; the variables of the run, the block's `params` over them, and Mage's
//! `execution_date`, `run_id`/`pipeline_run_id`, `block_uuid`, `pipeline_uuid` and
//! `configuration` are its keyword arguments. The DataFrame it returns is the block's output
//! table, fingerprinted and versioned like any loaded dataset; None is an empty table.

use super::data::{output_label, version_table, VersionedDataset};
use super::output::Output;
use super::workdir::WorkDir;
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::pipeline::python::BlockRequest;
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
    // Upstream `noop` blocks only order the block; the tables are its arguments.
    let datasets: Vec<Arc<VersionedDataset>> = inputs
        .into_iter()
        .filter_map(|o| match o {
            Output::Dataset(d) => Some(d),
            _ => None,
        })
        .collect();
    let started = Instant::now();
    let input_paths = write_inputs(ctx, work.path(), &datasets).await?;
    let handed_over = started.elapsed();
    let output_path = work.path().join("output.arrow");
    let request = BlockRequest {
        file: file.display().to_string(),
        block: ctx.block_name().to_string(),
        inputs: input_paths,
        output: output_path.display().to_string(),
        kwargs: kwargs(ctx, &config.params),
        execution_date: ctx.python_runners().started_at().to_rfc3339(),
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

/// Write each upstream table as an Arrow file; their paths, in upstream order.
async fn write_inputs(
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
fn kwargs(ctx: &BlockContext, params: &Map<String, Value>) -> Map<String, Value> {
    let mut kwargs = (*ctx.variables).clone();
    kwargs.extend(params.clone());
    kwargs.insert("run_id".into(), json!(ctx.run_id));
    kwargs.insert("pipeline_run_id".into(), json!(ctx.run_id));
    kwargs.insert("block_uuid".into(), json!(ctx.block_name()));
    kwargs.insert("pipeline_uuid".into(), json!(ctx.pipeline.name));
    kwargs.insert("configuration".into(), Value::Object(params.clone()));
    kwargs
}
