//! `command`: run any executable as a block, as Mage runs Python blocks.
//!
//! Hand-over, both ways through files in a fresh work folder:
//! - each upstream table is written as CSV; its path is in `IRONMAGE_INPUT_<UPSTREAM>` (the
//!   test part of a split table in `IRONMAGE_INPUT_<UPSTREAM>_TEST`), and `IRONMAGE_INPUTS`
//!   names a JSON manifest of them all;
//! - the run's variables and the block's `params` (which win) are passed as
//!   `IRONMAGE_VAR_<NAME>`, and `params` as a JSON file at `IRONMAGE_PARAMS`;
//! - the CSV the command writes at `IRONMAGE_OUTPUT`, if any, is the block's output table,
//!   fingerprinted and versioned like any loaded dataset (no file: an empty table).
//!
//! The command runs in the project folder, in its own process group: when the engine drops
//! the block (cancel, timeout) the whole group is killed, so nothing outlives it. Its stdout
//! and stderr lines are the block's log; a non-zero exit fails the block with the last
//! stderr lines.

use super::data::{output_label, version_table, VersionedDataset};
use super::output::Output;
use super::workdir::WorkDir;
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::subprocess::ProcessGroup;
use crate::table::{parse_csv, write_csv, Table};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Stderr lines quoted in a failure.
const TAIL: usize = 10;

/// The block's config: exactly one of `command` and `shell`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Program and arguments, run without a shell.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// A line for `sh -c`.
    #[serde(default)]
    pub shell: Option<String>,
    /// Parameters for the command (`${variable}` references are resolved first).
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The label column of the output table (default: the upstream label, if it is there).
    #[serde(default)]
    pub label: Option<String>,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        match (&self.command, &self.shell) {
            (Some(_), Some(_)) => Err(Error::invalid_field(
                "shell",
                "set command or shell, not both",
            )),
            (None, None) => Err(Error::invalid_field(
                "command",
                "set command (a list) or shell (a line)",
            )),
            (Some(c), None) if c.is_empty() || c[0].trim().is_empty() => {
                Err(Error::invalid_field("command", "name the program to run"))
            }
            (None, Some(s)) if s.trim().is_empty() => {
                Err(Error::invalid_field("shell", "must not be empty"))
            }
            _ => {
                for name in self.params.keys() {
                    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(Error::invalid_field(
                            format!("params.{name}"),
                            "use letters, digits and _",
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let work = WorkDir::create(ctx)?;
    // Upstream `noop` blocks only order the command; the tables are what it is handed.
    let (upstream, datasets): (Vec<String>, Vec<Arc<VersionedDataset>>) = ctx
        .upstream_names()
        .into_iter()
        .zip(inputs)
        .filter_map(|(name, o)| match o {
            Output::Dataset(d) => Some((name, d)),
            _ => None,
        })
        .unzip();
    let env = write_inputs(ctx, work.path(), &upstream, &datasets, &config.params).await?;
    let output_path = work.path().join("output.csv");
    let mut cmd = match (&config.command, &config.shell) {
        (Some(argv), _) => {
            let mut c = tokio::process::Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        (None, Some(line)) => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(line);
            c
        }
        (None, None) => return Err(Error::invalid_field("command", "set command or shell")),
    };
    cmd.current_dir(&ctx.services.project_root)
        .envs(env)
        .env("IRONMAGE_OUTPUT", &output_path)
        .env("IRONMAGE_RUN_ID", &ctx.run_id)
        .env("IRONMAGE_PIPELINE", &ctx.pipeline.name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let shown = config
        .command
        .as_ref()
        .map(|c| c.join(" "))
        .or(config.shell.clone())
        .unwrap_or_default();
    let mut child = cmd.spawn().map_err(|e| {
        Error::invalid_field("config.command", format!("cannot start {shown:?}: {e}"))
    })?;
    let mut group = ProcessGroup::new(child.id());
    ctx.log(format!("$ {shown}"));
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stdout = child.stdout.take().map(|s| forward(ctx, s, None));
    let stderr = child
        .stderr
        .take()
        .map(|s| forward(ctx, s, Some(tail.clone())));
    let (status, _, _) = tokio::join!(child.wait(), opt(stdout), opt(stderr));
    let status = status?;
    group.disarm();
    if !status.success() {
        let lines: Vec<String> = tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        return Err(Error::invalid(format!(
            "command {shown:?} failed ({status}){}{}",
            if lines.is_empty() { "" } else { ": " },
            lines.join("\n")
        )));
    }
    read_output(ctx, &output_path, &config, &datasets).await
}

async fn opt<F: std::future::Future<Output = ()>>(f: Option<F>) {
    if let Some(f) = f {
        f.await;
    }
}

/// Copy a stream to the block log line by line, keeping the last lines when asked.
async fn forward<R: tokio::io::AsyncRead + Unpin>(
    ctx: &BlockContext,
    stream: R,
    tail: Option<Arc<Mutex<VecDeque<String>>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(tail) = &tail {
            if let Ok(mut t) = tail.lock() {
                if t.len() == TAIL {
                    t.pop_front();
                }
                t.push_back(line.clone());
            }
        }
        ctx.log(line);
    }
}

/// The upstream block names of this block, in order.
/// `IRONMAGE_INPUT_<NAME>` for a block name: upper case, `-` as `_`.
fn env_name(block: &str) -> String {
    block.to_ascii_uppercase().replace('-', "_")
}

async fn write_inputs(
    ctx: &BlockContext,
    dir: &Path,
    upstream: &[String],
    datasets: &[Arc<VersionedDataset>],
    params: &Map<String, Value>,
) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    let mut manifest = Map::new();
    for (name, data) in upstream.iter().zip(datasets) {
        let mut parts = vec![(String::new(), data.train.clone())];
        if let Some(test) = &data.test {
            parts.push(("_TEST".to_string(), test.clone()));
        }
        for (suffix, table) in parts {
            let path = dir.join(format!("{name}{}.csv", suffix.to_ascii_lowercase()));
            let p = path.clone();
            ctx.blocking(move || Ok(std::fs::write(&p, write_csv(&table))?))
                .await?;
            let shown = path.display().to_string();
            env.push((
                format!("IRONMAGE_INPUT_{}{suffix}", env_name(name)),
                shown.clone(),
            ));
            manifest.insert(
                format!("{name}{}", suffix.to_ascii_lowercase()),
                json!({"path": shown, "label": data.label}),
            );
        }
    }
    let manifest_path = dir.join("inputs.json");
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    env.push((
        "IRONMAGE_INPUTS".into(),
        manifest_path.display().to_string(),
    ));
    let params_path = dir.join("params.json");
    std::fs::write(&params_path, serde_json::to_vec_pretty(params)?)?;
    env.push(("IRONMAGE_PARAMS".into(), params_path.display().to_string()));
    // The run's variables, then the block's params over them.
    let mut vars = (*ctx.variables).clone();
    vars.extend(params.clone());
    for (name, value) in &vars {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        env.push((format!("IRONMAGE_VAR_{}", name.to_ascii_uppercase()), text));
    }
    Ok(env)
}

async fn read_output(
    ctx: &BlockContext,
    path: &Path,
    config: &Config,
    upstream: &[Arc<VersionedDataset>],
) -> Result<Output> {
    if !path.exists() {
        ctx.log("   (no output table written)");
        return Ok(Output::Dataset(Arc::new(VersionedDataset::loaded(
            Table::default(),
            None,
            None,
            false,
        ))));
    }
    let p = path.to_path_buf();
    let table = ctx
        .blocking(move || {
            let text = std::fs::read_to_string(&p)?;
            parse_csv(&text, "IRONMAGE_OUTPUT")
        })
        .await?;
    let label = output_label(&table, config.label.as_ref(), upstream)?;
    Ok(Output::Dataset(Arc::new(
        version_table(ctx, table, label).await?,
    )))
}
