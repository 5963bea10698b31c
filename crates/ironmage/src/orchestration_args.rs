//! The arguments of `ironmage triggers …`, `ironmage cancel` and `ironmage rerun` (what each
//! does is in orchestration_cli.rs).

use crate::vars::{variables, Var};
use clap::{Args, Subcommand};
use ironmage_core::triggers::TriggerFields;

/// `ironmage triggers`.
#[derive(Debug, Clone, Subcommand)]
pub enum TriggersCommand {
    /// List triggers with their schedule and last outcome.
    List {
        /// Only this pipeline's.
        #[arg(long)]
        pipeline: Option<String>,
    },
    /// Create a trigger.
    Create(CreateTrigger),
    /// Enable a trigger (a schedule counts from now).
    Enable {
        /// Trigger id: `<pipeline>.<name>`.
        id: String,
    },
    /// Disable a trigger.
    Disable {
        /// Trigger id: `<pipeline>.<name>`.
        id: String,
    },
    /// Delete a trigger.
    Delete {
        /// Trigger id: `<pipeline>.<name>`.
        id: String,
    },
    /// Start a run from a trigger now (the API trigger), with its variables.
    Fire {
        /// Trigger id: `<pipeline>.<name>`.
        id: String,
        /// Override a variable: `--var seed=7`.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<Var>,
    },
}

/// `ironmage triggers create`.
#[derive(Debug, Clone, Args)]
pub struct CreateTrigger {
    /// The pipeline it runs.
    pub pipeline: String,
    /// Its name, unique within the pipeline.
    pub name: String,
    /// Fire on this cron expression: `--cron "0 2 * * SUN"`.
    #[arg(long, group = "kind")]
    pub cron: Option<String>,
    /// Time zone of the cron expression (IANA name); UTC by default.
    #[arg(long, requires = "cron")]
    pub timezone: Option<String>,
    /// Fire every N seconds.
    #[arg(long, value_name = "SECONDS", group = "kind")]
    pub every: Option<u64>,
    /// Fire only when called (`ironmage triggers fire`, `POST /api/triggers/{id}/runs`).
    #[arg(long, group = "kind")]
    pub api: bool,
    /// Fire when a file appears in this folder (relative to the project folder, or absolute).
    #[arg(long, value_name = "FOLDER", group = "kind")]
    pub watch: Option<String>,
    /// File name pattern for --watch (`*.csv`).
    #[arg(long, requires = "watch")]
    pub pattern: Option<String>,
    /// Pipeline variable that receives the new file's path (--watch).
    #[arg(long, requires = "watch")]
    pub variable: Option<String>,
    /// Variables of the runs it starts: `--var rows=5000`.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<Var>,
    /// What to do with fire times missed while no scheduler ran: skip or once.
    #[arg(long, value_name = "POLICY")]
    pub catch_up: Option<String>,
    /// Create it disabled.
    #[arg(long)]
    pub disabled: bool,
}

impl CreateTrigger {
    /// The trigger to create, or what is missing.
    pub fn fields(&self) -> Result<TriggerFields, String> {
        let kind = if self.cron.is_some() {
            "cron"
        } else if self.every.is_some() {
            "interval"
        } else if self.api {
            "api"
        } else if self.watch.is_some() {
            "file"
        } else {
            return Err("say when it fires: --cron, --every, --api or --watch".into());
        };
        Ok(TriggerFields {
            name: self.name.clone(),
            kind: kind.into(),
            cron: self.cron.clone(),
            timezone: self.timezone.clone(),
            every_secs: self.every,
            path: self.watch.clone(),
            pattern: self.pattern.clone(),
            variable: self.variable.clone(),
            variables: variables(&self.vars),
            catch_up: self.catch_up.clone(),
            enabled: Some(!self.disabled),
        })
    }
}

/// `ironmage cancel` / `ironmage rerun`.
#[derive(Debug, Clone, Args)]
pub struct RunId {
    /// The run's id.
    pub run: String,
}
