//! `ironmage triggers …`, `ironmage cancel RUN` and `ironmage rerun RUN`: the CLI side of
//! triggers and run control. They act on the metadata store directly (as `ironmage run` does);
//! a running `ironmage up` or scheduler picks the changes up.

use crate::orchestration_args::{RunId, TriggersCommand};
use crate::vars::variables;
use ironmage_core::store::Trigger;
use ironmage_core::{Error, Platform};
use std::process::ExitCode;

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
        TriggersCommand::Fire { id, vars } => platform
            .triggers
            .fire_trigger(&id, variables(&vars))
            .await
            .map(|run| println!("queued run {} of {}", run.id, run.pipeline)),
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
