//! `ironmage triggers …`, `ironmage cancel RUN` and `ironmage rerun RUN`: the CLI side of
//! triggers and run control. They act on the metadata store directly (as `ironmage run` does);
//! a running `ironmage up` or scheduler picks the changes up.

use crate::config::parse_vars;
use clap::{Args, Subcommand};
use ironmage_core::store::Trigger;
use ironmage_core::triggers::TriggerFields;
use ironmage_core::{Error, Platform};
use std::process::ExitCode;

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
        vars: Vec<String>,
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
    pub vars: Vec<String>,
    /// What to do with fire times missed while no scheduler ran: skip or once.
    #[arg(long, value_name = "POLICY")]
    pub catch_up: Option<String>,
    /// Create it disabled.
    #[arg(long)]
    pub disabled: bool,
}

impl CreateTrigger {
    fn fields(&self) -> Result<TriggerFields, String> {
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
            variables: parse_vars(&self.vars)?,
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

/// Run `ironmage triggers …`.
pub async fn triggers(platform: Platform, command: TriggersCommand) -> ExitCode {
    let result = match command {
        TriggersCommand::List { pipeline } => {
            match platform.triggers.list(pipeline.as_deref()).await {
                Ok(list) => {
                    print_triggers(&list);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        TriggersCommand::Create(args) => {
            let fields = match args.fields() {
                Ok(fields) => fields,
                Err(message) => return usage_error(&message),
            };
            platform
                .triggers
                .create_trigger(&args.pipeline, &fields, "api")
                .await
                .map(|t| println!("created trigger {} ({})", t.id, describe(&t)))
        }
        TriggersCommand::Enable { id } => platform
            .triggers
            .set_trigger_enabled(&id, true)
            .await
            .map(|t| println!("enabled {}", t.id)),
        TriggersCommand::Disable { id } => platform
            .triggers
            .set_trigger_enabled(&id, false)
            .await
            .map(|t| println!("disabled {}", t.id)),
        TriggersCommand::Delete { id } => platform
            .triggers
            .delete(&id)
            .await
            .map(|()| println!("deleted {id}")),
        TriggersCommand::Fire { id, vars } => {
            let variables = match parse_vars(&vars) {
                Ok(v) => v,
                Err(message) => return usage_error(&message),
            };
            platform
                .triggers
                .fire_trigger(&id, variables)
                .await
                .map(|run| println!("queued run {} of {}", run.id, run.pipeline))
        }
    };
    finish(result)
}

/// Run `ironmage cancel RUN`.
pub async fn cancel(platform: Platform, args: RunId) -> ExitCode {
    finish(platform.runs.cancel_run(&args.run).await.map(|run| {
        println!(
            "run {}: {}",
            run.id,
            if run.status.as_str() == "cancelled" {
                "cancelled"
            } else {
                "cancel requested; its executor stops it"
            }
        );
    }))
}

/// Run `ironmage rerun RUN`.
pub async fn rerun(platform: Platform, args: RunId) -> ExitCode {
    finish(platform.runs.rerun(&args.run).await.map(|run| {
        println!(
            "queued run {} re-running {} from its failed block",
            run.id, args.run
        )
    }))
}

fn print_triggers(list: &[Trigger]) {
    if list.is_empty() {
        println!("no triggers");
        return;
    }
    for t in list {
        println!(
            "{:<36} {:<8} {:<34} next: {:<24} last: {}",
            t.id,
            if t.enabled { "enabled" } else { "disabled" },
            describe(t),
            t.next_fire_at.as_deref().unwrap_or("-"),
            t.last_outcome.as_deref().unwrap_or("-"),
        );
    }
}

fn describe(t: &Trigger) -> String {
    use ironmage_core::triggers::TriggerSpec;
    match &t.spec {
        TriggerSpec::Cron { cron, timezone } => format!("cron {cron} {timezone}"),
        TriggerSpec::Interval { every_secs } => format!("every {every_secs} s"),
        TriggerSpec::Api => "api".into(),
        TriggerSpec::File { path, pattern, .. } => format!("file {path}/{pattern}"),
    }
}

/// A user error exits 2 (like a bad flag), anything else 1.
fn finish(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e.field {
                Some(field) if !e.message.starts_with(field.as_str()) => {
                    eprintln!("error: {field}: {}", e.message)
                }
                _ => eprintln!("error: {}", e.message),
            }
            if e.code.is_user_error() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
