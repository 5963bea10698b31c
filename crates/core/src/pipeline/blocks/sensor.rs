//! `sensor`: wait for a condition, as Mage's sensor blocks do. The condition is checked every
//! `poll_secs` until it holds, which ends the block (its downstream blocks then run), or until
//! `timeout_secs` have passed, which fails it saying what it waited for. It is one of:
//! - `path`: a file or folder exists (relative to the project folder, or absolute);
//! - `query`: a `SELECT` whose first row's first cell is true (a non-zero number, a text other
//!   than empty, `0`, `f`, `false`, `no`; no row is false), on the metadata database or the
//!   database at `url` (which may hold `${secret.NAME}`), read-only as the `sql` block's;
//! - `file`: a Python file whose `@sensor` function returns True, run by the run's Python
//!   runner with the upstream tables as arguments and the variables and `params` as keyword
//!   arguments, as a `python` block.
//!
//! A check that errors (a bad query, an exception in the `@sensor` function) fails the block at
//! once: a retry (`retries`) waits again.

use super::data::VersionedDataset;
use super::output::Output;
use super::workdir::WorkDir;
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::pipeline::python::BlockRequest;
use crate::store::ReadOnlySql;
use crate::table::query::rows_to_table;
use crate::table::Values;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shortest poll interval: a sensor is not a busy loop.
const MIN_POLL_SECS: f64 = 0.05;
/// The longest poll interval.
const MAX_POLL_SECS: f64 = 3600.0;
/// The longest wait: a week, as a block's `timeout_secs`.
const MAX_TIMEOUT_SECS: f64 = 7.0 * 86400.0;

/// The block's config: exactly one of `path`, `query` and `file`, and a timeout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Wait until this file or folder exists.
    #[serde(default)]
    pub path: Option<String>,
    /// Wait until this query's first cell is true.
    #[serde(default)]
    pub query: Option<String>,
    /// The query's database URL (`postgres://…`, `sqlite:…`); the metadata database when
    /// absent.
    #[serde(default)]
    pub url: Option<String>,
    /// Wait until this Python file's `@sensor` function returns True.
    #[serde(default)]
    pub file: Option<String>,
    /// Keyword arguments of the `@sensor` function, over the run's variables.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// How long to wait for the condition, in seconds (required).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Seconds between two checks (default 10).
    #[serde(default = "default_poll")]
    pub poll_secs: f64,
}

fn default_poll() -> f64 {
    10.0
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        let set = [
            self.path.is_some(),
            self.query.is_some(),
            self.file.is_some(),
        ];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(Error::invalid_field(
                "path",
                "set exactly one of path (a file to wait for), query (SQL whose first cell \
                 becomes true) or file (a Python file with a @sensor function)",
            ));
        }
        if self.url.is_some() && self.query.is_none() {
            return Err(Error::invalid_field(
                "url",
                "url is the database of a query: set query too",
            ));
        }
        if let Some(query) = &self.query {
            // The `sql` block's checks: a SELECT, and a URL it can connect to.
            super::sql::Config {
                query: query.clone(),
                url: self.url.clone(),
                label: None,
            }
            .validate()?;
        }
        if let Some(path) = &self.path {
            if path.trim().is_empty() {
                return Err(Error::invalid_field("path", "must not be empty"));
            }
        }
        if let Some(file) = &self.file {
            if !file.ends_with(".py") {
                return Err(Error::invalid_field(
                    "file",
                    format!("{file:?} is not a .py file"),
                ));
            }
        }
        let Some(timeout) = self.timeout_secs else {
            return Err(Error::invalid_field(
                "timeout_secs",
                "a sensor needs a timeout: how many seconds to wait for its condition \
                 (at most 604800, a week)",
            ));
        };
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_TIMEOUT_SECS) {
            return Err(Error::invalid_field(
                "timeout_secs",
                "must be above 0 and at most 604800 (a week)",
            ));
        }
        if !(MIN_POLL_SECS..=MAX_POLL_SECS).contains(&self.poll_secs) {
            return Err(Error::invalid_field(
                "poll_secs",
                format!("must be {MIN_POLL_SECS} to {MAX_POLL_SECS} seconds"),
            ));
        }
        if self.poll_secs > timeout {
            return Err(Error::invalid_field(
                "poll_secs",
                format!(
                    "is longer than timeout_secs ({timeout}): the condition would be checked once"
                ),
            ));
        }
        Ok(())
    }

    /// What the sensor waits for, in words.
    fn condition(&self) -> String {
        match (&self.path, &self.query, &self.file) {
            (Some(path), _, _) => format!("path {path} to exist"),
            (_, Some(query), _) => format!("query `{}` to return a true first cell", query.trim()),
            (_, _, Some(file)) => format!("the @sensor function of {file} to return True"),
            _ => "nothing".into(),
        }
    }
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let timeout = Duration::from_secs_f64(config.timeout_secs.unwrap_or(0.0));
    let poll = Duration::from_secs_f64(config.poll_secs);
    let what = config.condition();
    let check = Check::new(ctx, &config, inputs).await?;
    let started = Instant::now();
    let mut checks = 0;
    let result = loop {
        checks += 1;
        match check.holds(checks == 1).await {
            Err(e) => break Err(e),
            Ok(true) => {
                ctx.log(format!(
                    "✅ condition true at check {checks}, after {:.1} s: {what}",
                    started.elapsed().as_secs_f64()
                ));
                break Ok(Output::Empty);
            }
            Ok(false) => {}
        }
        if checks == 1 {
            ctx.log(format!(
                "⏳ waiting for {what}: checking every {} s for up to {} s",
                config.poll_secs,
                timeout.as_secs_f64()
            ));
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            break Err(Error::invalid_field(
                "config.timeout_secs",
                format!(
                    "sensor timed out after {:.1} s (timeout_secs): still waiting for {what} \
                     after {checks} checks",
                    timeout.as_secs_f64()
                ),
            ));
        }
        // The last check comes at the timeout itself.
        tokio::time::sleep(poll.min(left)).await;
    };
    check.close().await;
    result
}

/// One kind of condition, ready to be checked again and again.
enum Check<'a> {
    Path(std::path::PathBuf),
    Query {
        source: Option<ReadOnlySql>,
        ctx: &'a BlockContext,
        query: String,
    },
    Python {
        ctx: &'a BlockContext,
        request: Box<BlockRequest>,
        // Holds the inputs the runner reads at every check.
        _work: WorkDir,
    },
}

impl<'a> Check<'a> {
    async fn new(ctx: &'a BlockContext, config: &Config, inputs: Vec<Output>) -> Result<Check<'a>> {
        if let Some(path) = &config.path {
            return Ok(Check::Path(ctx.services.project_root.join(path)));
        }
        if let Some(query) = &config.query {
            let source = (config.url.as_deref())
                .filter(|u| !u.is_empty())
                .map(ReadOnlySql::new);
            return Ok(Check::Query {
                source,
                ctx,
                query: query.clone(),
            });
        }
        let file = config.file.clone().unwrap_or_default();
        let path = ctx.services.project_root.join(&file);
        if !path.is_file() {
            return Err(Error::invalid_field(
                "config.file",
                format!("no file {}", path.display()),
            ));
        }
        let work = WorkDir::create(ctx)?;
        let datasets: Vec<Arc<VersionedDataset>> = inputs
            .into_iter()
            .filter_map(|o| match o {
                Output::Dataset(d) => Some(d),
                _ => None,
            })
            .collect();
        let input_paths = super::python::write_inputs(ctx, work.path(), &datasets).await?;
        let request = BlockRequest {
            file: path.canonicalize()?.display().to_string(),
            block: ctx.block_name().to_string(),
            inputs: input_paths,
            output: work.path().join("output.arrow").display().to_string(),
            model_dir: None,
            kwargs: super::python::kwargs(ctx, &config.params),
            execution_date: ctx.python_runners().started_at().to_rfc3339(),
            callback: None,
            sensor: true,
            items: Vec::new(),
        };
        Ok(Check::Python {
            ctx,
            request: Box::new(request),
            _work: work,
        })
    }

    /// Whether the condition holds now. `first`: the first check, whose runner lines are logged
    /// (the later ones are not, so a long wait does not fill the log).
    async fn holds(&self, first: bool) -> Result<bool> {
        match self {
            Check::Path(path) => Ok(tokio::fs::try_exists(path).await.unwrap_or(false)),
            Check::Query { source, ctx, query } => {
                let rows = match source {
                    Some(source) => source.fetch_all(query).await?,
                    None => ctx.services.sql.fetch_all(query).await?,
                };
                if rows.is_empty() {
                    return Ok(false);
                }
                Ok(first_cell_true(&rows_to_table(&rows)?))
            }
            Check::Python { ctx, request, .. } => {
                let log = |line: String| {
                    if first {
                        ctx.log(line)
                    }
                };
                let finished = ctx.python_runners().run(request, &log).await?;
                Ok(finished.value.unwrap_or(false))
            }
        }
    }

    async fn close(&self) {
        if let Check::Query {
            source: Some(source),
            ..
        } = self
        {
            source.close().await;
        }
    }
}

/// Whether the first cell of a query's result is true.
fn first_cell_true(table: &crate::table::Table) -> bool {
    let Some(column) = table.columns().first() else {
        return false;
    };
    match &column.values {
        Values::Number(values) => values.first().is_some_and(|v| *v != 0.0 && !v.is_nan()),
        Values::Text(values) => values.first().cloned().flatten().is_some_and(|t| {
            let t = t.trim().to_ascii_lowercase();
            !matches!(t.as_str(), "" | "0" | "f" | "false" | "no")
        }),
    }
}
