//! Command-line flags and environment variables (every flag has an `IRONMAGE_…` twin).

use crate::orchestration_args::{RunId, TriggersCommand};
use crate::vars::Var;
use clap::{Args, Parser, Subcommand};
use ironmage_core::PlatformConfig;
use std::path::PathBuf;

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
    /// Seconds a running run may go without a heartbeat before it is re-queued.
    #[arg(long, env = "IRONMAGE_RUN_LEASE_SECS", default_value_t = 30)]
    pub run_lease_secs: u64,
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
    /// Runs executed at once.
    #[arg(long, env = "IRONMAGE_EXECUTOR_CONCURRENCY", default_value_t = 2)]
    pub concurrency: usize,
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
    /// Registered model whose Production version is served.
    #[arg(long, env = "IRONMAGE_MODEL", default_value = "churn")]
    pub model: String,
    /// Milliseconds between two checks for a new Production version (events also wake it).
    #[arg(long, env = "IRONMAGE_POLL_MS", default_value_t = 500)]
    pub poll_ms: u64,
    /// Largest request body in bytes.
    #[arg(long, env = "IRONMAGE_BODY_LIMIT", default_value_t = 1 << 20)]
    pub body_limit: usize,
}

/// `ironmage run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Pipeline name (a folder under `<project>/pipelines/`).
    pub pipeline: String,
    /// Override a pipeline variable: `--var seed=7` (the value is read as JSON, else as text).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<Var>,
}

/// `ironmage init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Folder to create (or complete).
    pub dir: PathBuf,
}
