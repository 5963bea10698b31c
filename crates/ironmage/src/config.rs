//! Command-line flags and environment variables (every flag has an `IRONMAGE_…` twin).
//!
//! The defaults of the role settings are the role crates' constants, the ones their `Default`s
//! use, and their bounds are checked here at parse time: a bad value is refused with the flag's
//! name before anything starts.

use crate::orchestration_args::{RunId, TriggersCommand};
use crate::vars::Var;
use clap::{Args, Parser, Subcommand};
use ironmage_core::PlatformConfig;
use ironmage_executor::{ExecutorConfig, DEFAULT_CONCURRENCY};
use ironmage_flavors::PythonOptions;
use ironmage_prediction::{
    LoadFailurePolicy, PredictionConfig, DEFAULT_BODY_LIMIT, DEFAULT_LOG_QUEUE, DEFAULT_MODEL,
    DEFAULT_POLL_MS, MIN_POLL_MS,
};
use ironmage_scheduler::{SchedulerConfig, DEFAULT_RUN_LEASE_SECS, MIN_RUN_LEASE_SECS};
use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// ironmage: pipelines, tracking, registry and serving for ML, in one binary.
#[derive(Debug, Parser)]
#[command(name = "ironmage", version, about, long_about = None)]
pub struct Cli {
    /// Where the platform keeps its data.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Log lines as JSON (for log collectors) instead of text.
    #[arg(long, env = "IRONMAGE_LOG_JSON", global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Storage settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Data folder of the embedded default: SQLite database and artifacts.
    #[arg(
        long,
        env = "IRONMAGE_DATA_DIR",
        default_value = ".ironmage",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Metadata database URL (sqlite://… or postgres://…); default: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Artifact folder; default: `<data-dir>/artifacts`.
    #[arg(long, env = "IRONMAGE_ARTIFACT_DIR", global = true)]
    pub artifact_dir: Option<PathBuf>,
    /// Project folder holding `pipelines/`.
    #[arg(
        long,
        env = "IRONMAGE_PROJECT_DIR",
        default_value = "project",
        global = true
    )]
    pub project_dir: PathBuf,
    /// Redis URL for the shared job queue and event bus (production topology); without it,
    /// queue and events are in-process.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
}

impl StorageArgs {
    /// The core's view of these settings.
    pub fn platform_config(&self) -> PlatformConfig {
        PlatformConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            artifact_dir: self.artifact_dir.clone(),
            project_dir: self.project_dir.clone(),
            redis_url: self.redis_url.clone(),
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every role in one process (web, scheduler, executor, prediction).
    Up(UpArgs),
    /// Run the web role: REST API and dashboard.
    Web(WebArgs),
    /// Run the scheduler role: recovers queued and abandoned runs.
    Scheduler(SchedulerArgs),
    /// Run the executor role: executes queued runs.
    Executor(ExecutorArgs),
    /// Run the prediction role: serves the Production model.
    Predict(PredictArgs),
    /// Run a pipeline now, in this terminal, and print a summary.
    Run(RunArgs),
    /// Create a project folder with the demo pipelines.
    Init(InitArgs),
    /// Install the project's requirements.txt into its virtualenv (.venv) for Python blocks,
    /// and write the exact versions to requirements.lock.
    Deps(crate::deps_cli::DepsArgs),
    /// Create, list, enable, disable, delete and fire triggers (cron, interval, API, file).
    Triggers {
        /// What to do with triggers.
        #[command(subcommand)]
        command: TriggersCommand,
    },
    /// Cancel a queued or running run.
    Cancel(RunId),
    /// Re-run a failed run from its failed block, reusing what succeeded.
    Rerun(RunId),
    /// Model registry: list, show, promote, approve, reject, rollback, compare, policy.
    Models(crate::registry_args::ModelsArgs),
    /// Score a CSV file with a model version chosen by stage or number.
    PredictBatch(crate::batch_cli::PredictBatchArgs),
}

/// `ironmage up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Create the demo project if missing and run demo_mlops once, so /predict answers.
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub web: WebArgs,
    #[command(flatten)]
    pub predict: PredictArgs,
    #[command(flatten)]
    pub executor: ExecutorArgs,
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
}

/// Web role settings.
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Address of the REST API and dashboard.
    #[arg(
        long = "web-addr",
        env = "IRONMAGE_WEB_ADDR",
        default_value = "0.0.0.0:6789"
    )]
    pub web_addr: String,
}

/// Scheduler role settings.
#[derive(Debug, Clone, Args)]
pub struct SchedulerArgs {
    /// Address of the scheduler's `/health` endpoint (`ironmage scheduler` only).
    #[arg(
        long = "scheduler-health-addr",
        env = "IRONMAGE_SCHEDULER_HEALTH_ADDR",
        default_value = "0.0.0.0:6790"
    )]
    pub scheduler_health_addr: String,
    /// Seconds a running run may go without a heartbeat before it is re-queued (at least three
    /// heartbeats).
    #[arg(
        long,
        env = "IRONMAGE_RUN_LEASE_SECS",
        default_value_t = DEFAULT_RUN_LEASE_SECS,
        value_parser = run_lease_secs
    )]
    pub run_lease_secs: u64,
}

impl SchedulerArgs {
    /// The scheduler's settings.
    pub fn scheduler_config(&self) -> SchedulerConfig {
        SchedulerConfig {
            lease: Duration::from_secs(self.run_lease_secs),
            ..SchedulerConfig::default()
        }
    }
}

/// Executor role settings.
#[derive(Debug, Clone, Args)]
pub struct ExecutorArgs {
    /// Address of the executor's `/health` endpoint (`ironmage executor` only).
    #[arg(
        long = "executor-health-addr",
        env = "IRONMAGE_EXECUTOR_HEALTH_ADDR",
        default_value = "0.0.0.0:6791"
    )]
    pub executor_health_addr: String,
    /// Runs executed at once (at least 1).
    #[arg(
        long,
        env = "IRONMAGE_EXECUTOR_CONCURRENCY",
        default_value_t = DEFAULT_CONCURRENCY,
        value_parser = concurrency
    )]
    pub concurrency: usize,
}

impl ExecutorArgs {
    /// The executor's settings.
    pub fn executor_config(&self) -> ExecutorConfig {
        ExecutorConfig::new(self.concurrency)
    }
}

/// Prediction role settings.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// Address of the prediction API.
    #[arg(
        long = "predict-addr",
        env = "IRONMAGE_PREDICT_ADDR",
        default_value = "0.0.0.0:5000"
    )]
    pub predict_addr: String,
    /// The model `/predict`, `/model-info` and `/lineage` answer with (every served model is
    /// also at `/models/{name}/predict`).
    #[arg(long, env = "IRONMAGE_MODEL", default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Which registered models to serve: comma-separated names or `*`/`?` patterns.
    #[arg(
        long,
        env = "IRONMAGE_MODELS",
        default_value = "*",
        value_delimiter = ','
    )]
    pub models: Vec<String>,
    /// When a model's new Production version fails to load or none is left: keep serving the
    /// last good version (`keep-last`), or answer 503 (`refuse`).
    #[arg(long, env = "IRONMAGE_ON_LOAD_FAILURE", default_value = "keep-last", value_parser = ["keep-last", "refuse"])]
    pub on_load_failure: String,
    /// Python interpreter (or venv's `bin/python`) for MLflow pyfunc models; it needs mlflow and
    /// the model's own requirements.
    #[arg(long, env = "IRONMAGE_PYTHON", default_value = "python3")]
    pub python: PathBuf,
    /// Python worker processes per pyfunc model (default: one per two cores, at least one).
    #[arg(long, env = "IRONMAGE_PYTHON_WORKERS", default_value_t = default_python_workers(), value_parser = clap::value_parser!(u16).range(1..=64))]
    pub python_workers: u16,
    /// Most rows merged into one Python `predict` call.
    #[arg(long, env = "IRONMAGE_PYTHON_MAX_BATCH", default_value_t = 1024, value_parser = python_max_batch)]
    pub python_max_batch: usize,
    /// Refuse a pyfunc model whose recorded requirements the interpreter lacks.
    #[arg(long, env = "IRONMAGE_PYTHON_STRICT_REQUIREMENTS")]
    pub python_strict_requirements: bool,
    /// Folder where MLflow model folders are copied out of the artifact store.
    #[arg(long, env = "IRONMAGE_MODEL_CACHE")]
    pub model_cache: Option<PathBuf>,
    /// Logged predictions held in memory for the writer, at most (beyond, they are dropped
    /// and counted).
    #[arg(long, env = "IRONMAGE_LOG_QUEUE", default_value_t = DEFAULT_LOG_QUEUE, value_parser = log_queue)]
    pub log_queue: usize,
    /// Milliseconds between two checks for a new Production version (events also wake it; at
    /// least 50).
    #[arg(
        long,
        env = "IRONMAGE_POLL_MS",
        default_value_t = DEFAULT_POLL_MS,
        value_parser = poll_ms
    )]
    pub poll_ms: u64,
    /// Largest request body in bytes.
    #[arg(long, env = "IRONMAGE_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
}

impl PredictArgs {
    /// The prediction service's settings.
    pub fn prediction_config(&self) -> PredictionConfig {
        let defaults = PredictionConfig::default();
        PredictionConfig {
            model: self.model.clone(),
            models: self.models.clone(),
            poll_interval: Duration::from_millis(self.poll_ms),
            body_limit: self.body_limit,
            on_load_failure: if self.on_load_failure == "refuse" {
                LoadFailurePolicy::Refuse
            } else {
                LoadFailurePolicy::KeepLast
            },
            python: PythonOptions {
                interpreter: self.python.clone(),
                workers: usize::from(self.python_workers),
                max_batch_rows: self.python_max_batch,
                strict_requirements: self.python_strict_requirements,
                ..defaults.python
            },
            cache_dir: self.model_cache.clone().unwrap_or(defaults.cache_dir),
            log_queue: self.log_queue,
        }
    }
}

/// `ironmage run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Pipeline name (a folder under `<project>/pipelines/`).
    pub pipeline: String,
    /// Override a pipeline variable: `--var seed=7` (the value is read as JSON, else as text).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<Var>,
    /// Run only this block; the blocks feeding it are not run: their outputs are the newest
    /// stored ones (Mage's `--block-uuid`).
    #[arg(long, value_name = "NAME")]
    pub block: Option<String>,
    /// Run this block and every block downstream of it; the blocks feeding them are not run:
    /// their outputs are the newest stored ones.
    #[arg(long, value_name = "NAME")]
    pub from_block: Option<String>,
}

/// `ironmage init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Folder to create (or complete).
    pub dir: PathBuf,
}

/// `--python-workers` when not given: the flavors crate's default, within the flag's range.
fn default_python_workers() -> u16 {
    u16::try_from(ironmage_flavors::python::default_workers().min(64)).unwrap_or(1)
}

/// `--run-lease-secs`: see [`MIN_RUN_LEASE_SECS`].
fn run_lease_secs(text: &str) -> Result<u64, String> {
    at_least(
        text,
        MIN_RUN_LEASE_SECS,
        "three heartbeats, so a live run is never taken for a dead one",
    )
}

/// `--poll-ms`: see [`MIN_POLL_MS`].
fn poll_ms(text: &str) -> Result<u64, String> {
    at_least(
        text,
        MIN_POLL_MS,
        "a faster poll would load the store for nothing",
    )
}

/// `--python-max-batch`: a batch holds at least one row.
fn python_max_batch(text: &str) -> Result<usize, String> {
    at_least(text, 1, "a Python batch holds at least one row")
}

/// `--log-queue`: a queue of nothing would drop every prediction.
fn log_queue(text: &str) -> Result<usize, String> {
    at_least(
        text,
        1,
        "a queue of nothing would drop every logged prediction",
    )
}

/// `--concurrency`: an executor without workers would take no run.
fn concurrency(text: &str) -> Result<usize, String> {
    at_least(text, 1, "an executor runs at least one run at a time")
}

/// A whole number not below `min`; the message says why when it is.
fn at_least<T: FromStr + PartialOrd + Display>(text: &str, min: T, why: &str) -> Result<T, String> {
    let value: T = text
        .parse()
        .map_err(|_| format!("expected a whole number, got {text:?}"))?;
    if value < min {
        return Err(format!("must be at least {min} ({why})"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// Parse with env lookups removed, so the environment of the test cannot fill a flag.
    fn parse(args: &[&str]) -> Result<Cli, String> {
        fn without_env(cmd: clap::Command) -> clap::Command {
            let names: Vec<String> = cmd
                .get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect();
            let mut cmd = cmd.mut_args(|arg| arg.env(None::<&str>));
            for name in names {
                cmd = cmd.mut_subcommand(name, without_env);
            }
            cmd
        }
        without_env(Cli::command())
            .try_get_matches_from(std::iter::once("ironmage").chain(args.iter().copied()))
            .and_then(|m| Cli::from_arg_matches(&m))
            .map_err(|e| e.to_string())
    }

    fn up(args: &[&str]) -> UpArgs {
        match parse(&[&["up"], args].concat()).unwrap().command {
            Command::Up(up) => up,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_flag_defaults_are_the_roles_defaults() {
        let args = up(&[]);
        let (flags, role) = (
            args.predict.prediction_config(),
            PredictionConfig::default(),
        );
        assert_eq!(flags.model, role.model);
        assert_eq!(flags.poll_interval, role.poll_interval);
        assert_eq!(flags.body_limit, role.body_limit);
        assert_eq!(flags.models, role.models);
        assert_eq!(flags.on_load_failure, role.on_load_failure);
        assert_eq!(flags.log_queue, role.log_queue);
        assert_eq!(flags.cache_dir, role.cache_dir);
        assert_eq!(flags.python.workers, role.python.workers);
        assert_eq!(flags.python.max_batch_rows, role.python.max_batch_rows);
        assert_eq!(
            flags.python.strict_requirements,
            role.python.strict_requirements
        );
        assert_eq!(
            args.scheduler.scheduler_config().lease,
            SchedulerConfig::default().lease
        );
        assert_eq!(
            args.executor.executor_config().concurrency,
            DEFAULT_CONCURRENCY
        );
    }

    #[test]
    fn the_flags_reach_the_roles_settings() {
        let args = up(&[
            "--model",
            "credit",
            "--poll-ms",
            "50",
            "--body-limit",
            "1024",
            "--run-lease-secs",
            "6",
            "--concurrency",
            "1",
        ]);
        let predict = args.predict.prediction_config();
        assert_eq!(predict.model, "credit");
        assert_eq!(predict.poll_interval, Duration::from_millis(50));
        assert_eq!(predict.body_limit, 1024);
        assert_eq!(
            args.scheduler.scheduler_config().lease,
            Duration::from_secs(6)
        );
        assert_eq!(args.executor.executor_config().concurrency, 1);
    }

    #[test]
    fn values_out_of_bounds_are_refused_naming_the_flag() {
        for (args, message) in [
            (
                vec!["scheduler", "--run-lease-secs", "5"],
                "invalid value '5' for '--run-lease-secs <RUN_LEASE_SECS>': must be at least 6 (three heartbeats",
            ),
            (
                vec!["predict", "--poll-ms", "49"],
                "invalid value '49' for '--poll-ms <POLL_MS>': must be at least 50",
            ),
            (
                vec!["executor", "--concurrency", "0"],
                "invalid value '0' for '--concurrency <CONCURRENCY>': must be at least 1",
            ),
            (
                vec!["executor", "--concurrency", "two"],
                "expected a whole number, got \"two\"",
            ),
            (
                vec!["run", "demo_mlops", "--var", "seed"],
                "invalid value 'seed' for '--var <NAME=VALUE>': \"seed\": expected NAME=VALUE",
            ),
        ] {
            let error = parse(&args).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
    }
}
