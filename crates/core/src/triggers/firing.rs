//! Creating triggers against their pipeline, and firing the ones that are due.

use super::service::Triggers;
use super::spec::{matches_pattern, CatchUp, TriggerFields, TriggerSpec};
use crate::clock;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewTrigger, Run, Trigger};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A fire time handled later than this counts as missed (the scheduler was down), and the
/// trigger's catch-up policy decides whether it still runs.
const MISSED_AFTER: Duration = Duration::from_secs(60);

/// A watched file must have stopped changing for this long before it fires a run, so that a
/// file still being copied in is not read half-written.
const FILE_SETTLE: Duration = Duration::from_secs(1);

/// What happened to one trigger that was due.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The trigger.
    pub trigger: String,
    /// The run it started, if it started one.
    pub run_id: Option<String>,
    /// `started run …`, or why it did not.
    pub outcome: String,
}

impl Triggers {
    /// Check a trigger against its pipeline (its variables, the file variable) and store it.
    pub async fn create_trigger(
        &self,
        pipeline: &str,
        fields: &TriggerFields,
        source: &str,
    ) -> Result<Trigger> {
        crate::pipeline::spec::check_identifier(&fields.name)
            .map_err(|m| Error::invalid_field("name", format!("{:?} {m}", fields.name)))?;
        let spec = fields.spec()?;
        let catch_up = match &fields.catch_up {
            Some(text) => CatchUp::parse(text)?,
            None => CatchUp::default(),
        };
        let loaded = self.project.load(pipeline)?;
        loaded.resolve_configs(&fields.variables)?;
        if let TriggerSpec::File {
            variable: Some(var),
            ..
        } = &spec
        {
            if !loaded.variables.contains_key(var) {
                return Err(Error::invalid_field(
                    "variable",
                    format!(
                        "pipeline {pipeline} has no variable {var:?} to receive the file's path"
                    ),
                ));
            }
        }
        let trigger = self
            .store
            .create_trigger(&NewTrigger {
                pipeline: loaded.name.clone(),
                name: fields.name.clone(),
                spec,
                variables: fields.variables.clone(),
                catch_up,
                enabled: fields.enabled.unwrap_or(true),
                source: source.to_string(),
            })
            .await?;
        if trigger.enabled {
            self.note_present_files(&trigger).await?;
        }
        Ok(trigger)
    }

    /// Enable or disable a trigger. A file trigger enabled again ignores the files that
    /// arrived while it was off; a schedule counts from now.
    pub async fn set_trigger_enabled(&self, id: &str, enabled: bool) -> Result<Trigger> {
        let trigger = self.store.set_trigger_enabled(id, enabled).await?;
        if enabled {
            self.note_present_files(&trigger).await?;
        }
        Ok(trigger)
    }

    /// Start a run from a trigger now (an API trigger's call, or "run now" for any trigger),
    /// with `variables` over the trigger's own.
    pub async fn fire_trigger(&self, id: &str, variables: Map<String, Value>) -> Result<Run> {
        let trigger = self.store.trigger(id).await?;
        if !trigger.enabled {
            return Err(Error::conflict(format!(
                "trigger {id} is disabled; enable it first"
            )));
        }
        let mut merged = trigger.variables.clone();
        merged.extend(variables);
        let run = self.start_trigger_run(&trigger, merged).await?;
        let now = clock::now();
        self.store
            .record_trigger_fire(
                id,
                &now,
                trigger.next_fire_at.as_deref(),
                Some(&run.id),
                &format!("started run {} (API)", run.id),
            )
            .await?;
        Ok(run)
    }

    /// Fire every enabled trigger that is due at `now`: cron and interval triggers whose time
    /// has come (a missed time runs once or is skipped, as the trigger's catch-up says), and
    /// file triggers with new files. The scheduler calls this every tick.
    pub async fn fire_due_triggers(&self, now: DateTime<Utc>) -> Result<Vec<Fired>> {
        let mut fired = Vec::new();
        for trigger in self.store.triggers(None).await? {
            if !trigger.enabled {
                continue;
            }
            match &trigger.spec {
                TriggerSpec::Cron { .. } | TriggerSpec::Interval { .. } => {
                    if let Some(f) = self.fire_if_due(&trigger, now).await? {
                        fired.push(f);
                    }
                }
                TriggerSpec::File { .. } => {
                    fired.extend(self.fire_for_new_files(&trigger, now).await?)
                }
                TriggerSpec::Api => {}
            }
        }
        Ok(fired)
    }

    async fn fire_if_due(&self, trigger: &Trigger, now: DateTime<Utc>) -> Result<Option<Fired>> {
        let Some(due) = trigger
            .next_fire_at
            .as_deref()
            .map(parse_time)
            .transpose()?
        else {
            // New or re-enabled: schedule from now.
            let next = trigger.spec.next_fire_after(now)?.map(clock::format_time);
            self.store
                .schedule_trigger(&trigger.id, next.as_deref())
                .await?;
            return Ok(None);
        };
        if due > now {
            return Ok(None);
        }
        let next = trigger.spec.following(due, now)?.map(clock::format_time);
        let late = (now - due).to_std().unwrap_or_default();
        let (run_id, outcome) = if late > MISSED_AFTER && trigger.catch_up == CatchUp::Skip {
            (
                None,
                format!(
                    "skipped: missed the fire time {} (catch_up: skip)",
                    clock::format_time(due)
                ),
            )
        } else {
            self.start_for(trigger, Map::new()).await
        };
        self.store
            .record_trigger_fire(
                &trigger.id,
                &clock::format_time(now),
                next.as_deref(),
                run_id.as_deref(),
                &outcome,
            )
            .await?;
        Ok(Some(Fired {
            trigger: trigger.id.clone(),
            run_id,
            outcome,
        }))
    }

    async fn fire_for_new_files(
        &self,
        trigger: &Trigger,
        now: DateTime<Utc>,
    ) -> Result<Vec<Fired>> {
        let TriggerSpec::File { variable, .. } = &trigger.spec else {
            return Ok(Vec::new());
        };
        let settled_before = SystemTime::from(now) - FILE_SETTLE;
        let mut fired = Vec::new();
        for (path, modified) in self.watched_files(trigger)? {
            if modified > settled_before {
                continue;
            }
            let path_text = path.display().to_string();
            if !self
                .store
                .note_trigger_file(&trigger.id, &path_text, &file_time(modified))
                .await?
            {
                continue;
            }
            let mut variables = Map::new();
            if let Some(var) = variable {
                variables.insert(var.clone(), Value::String(path_text.clone()));
            }
            let (run_id, outcome) = self.start_for(trigger, variables).await;
            let outcome = format!("{outcome} for {path_text}");
            self.store
                .record_trigger_fire(
                    &trigger.id,
                    &clock::format_time(now),
                    None,
                    run_id.as_deref(),
                    &outcome,
                )
                .await?;
            fired.push(Fired {
                trigger: trigger.id.clone(),
                run_id,
                outcome,
            });
        }
        Ok(fired)
    }

    /// Remember the files already in a file trigger's folder: it fires for files that appear
    /// while it is enabled, not for those it found there.
    async fn note_present_files(&self, trigger: &Trigger) -> Result<()> {
        if matches!(trigger.spec, TriggerSpec::File { .. }) {
            for (path, modified) in self.watched_files(trigger)? {
                self.store
                    .note_trigger_file(
                        &trigger.id,
                        &path.display().to_string(),
                        &file_time(modified),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// The matching files in a file trigger's folder, with their modification times. A folder
    /// that does not exist yet has no files.
    fn watched_files(&self, trigger: &Trigger) -> Result<Vec<(PathBuf, SystemTime)>> {
        let TriggerSpec::File { path, pattern, .. } = &trigger.spec else {
            return Ok(Vec::new());
        };
        let folder = self.project.root().join(path);
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::internal(format!(
                    "cannot list {}: {e}",
                    folder.display()
                )))
            }
        };
        let mut files: Vec<(PathBuf, SystemTime)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| matches_pattern(pattern, n))
            })
            .filter_map(|e| Some((e.path(), e.metadata().ok()?.modified().ok()?)))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Start a run for a trigger unless its pipeline is at its run limit; never an error, so
    /// one broken trigger does not stop the others: the outcome says what happened.
    async fn start_for(
        &self,
        trigger: &Trigger,
        extra: Map<String, Value>,
    ) -> (Option<String>, String) {
        let mut variables = trigger.variables.clone();
        variables.extend(extra);
        match self.start_trigger_run(trigger, variables).await {
            Ok(run) => (Some(run.id.clone()), format!("started run {}", run.id)),
            Err(e) if e.code == ErrorCode::Conflict => (None, format!("skipped: {}", e.message)),
            Err(e) => {
                tracing::warn!(trigger = %trigger.id, error = %e, "trigger could not start a run");
                (None, format!("failed to start a run: {e}"))
            }
        }
    }

    /// Record and enqueue a run of the trigger's pipeline; a conflict when the pipeline
    /// already has `max_concurrent_runs` runs queued or running.
    async fn start_trigger_run(
        &self,
        trigger: &Trigger,
        variables: Map<String, Value>,
    ) -> Result<Run> {
        self.runs
            .trigger_limited(&trigger.pipeline, variables, &trigger.id)
            .await
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::internal(format!("stored time {text:?} is not RFC 3339: {e}")))
}

fn file_time(time: SystemTime) -> String {
    clock::format_time(DateTime::<Utc>::from(time))
}
