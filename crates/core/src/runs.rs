//! The runs service: recording a pipeline run, handing it to the executors, executing it
//! (claim, heartbeat, engine, outcome), acting on it afterwards (cancel, re-run from the failed
//! block), and the recovery the scheduler does (stale leases, lost queue messages).

use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::pipeline::{
    engine, BrokenPipeline, Engine, Execution, Limited, Pipeline, Progress, Project, RunOutcome,
    StopReason, StopSignal,
};
use crate::queue::Queue;
use crate::retry::until_written;
use crate::store::{NewRun, Run, RunDetail, RunScope, RunStatus, RunStore};
use crate::tracking::Tracking;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// How often a running run's holder renews its lease.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// Runs pipelines and keeps their records. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runs {
    store: RunStore,
    tracking: Tracking,
    queue: Queue,
    events: EventBus,
    project: Project,
    engine: Engine,
}

impl Runs {
    /// The runs service over these parts; `engine` is what blocks run with.
    pub fn new(
        store: RunStore,
        tracking: Tracking,
        queue: Queue,
        events: EventBus,
        project: Project,
        engine: Engine,
    ) -> Runs {
        Runs {
            store,
            tracking,
            queue,
            events,
            project,
            engine,
        }
    }

    /// The project folder: its pipelines and their files, read and edited.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The pipelines of the project, and the files that do not load.
    pub fn pipelines(&self) -> Result<(Vec<Pipeline>, Vec<BrokenPipeline>)> {
        self.project.pipelines()
    }

    /// One pipeline, loaded and validated.
    pub fn pipeline(&self, name: &str) -> Result<Pipeline> {
        self.project.load(name)
    }

    /// One run.
    pub async fn run(&self, id: &str) -> Result<Run> {
        self.store.run(id).await
    }

    /// One run with its blocks (status, logs, previews).
    pub async fn run_detail(&self, id: &str) -> Result<RunDetail> {
        self.store.run_detail(id).await
    }

    /// The newest runs (of one pipeline, if given) with their blocks.
    pub async fn list_runs(&self, pipeline: Option<&str>, limit: i64) -> Result<Vec<RunDetail>> {
        self.store.list_runs(pipeline, limit).await
    }

    /// Ids of the queued runs, oldest first (executors without a shared queue poll these).
    pub async fn queued_run_ids(&self) -> Result<Vec<String>> {
        self.store.queued_run_ids().await
    }

    /// Validate a run request and record it as queued (not yet enqueued).
    pub async fn create_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
    ) -> Result<Run> {
        self.create_limited_run(pipeline, variables, trigger, None)
            .await
    }

    /// [`Runs::create_run`], limited to the blocks `scope` names (`None`: every block). The
    /// blocks feeding them must have a stored output (a conflict naming the first that has
    /// none).
    pub async fn create_limited_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
        scope: Option<RunScope>,
    ) -> Result<Run> {
        let spec = self.project.load(pipeline)?;
        self.record(&spec, variables, trigger, None, scope).await
    }

    /// Validate, record and enqueue a run; executors pick it up.
    pub async fn trigger_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
    ) -> Result<Run> {
        self.trigger_limited_run(pipeline, variables, trigger, None)
            .await
    }

    /// [`Runs::trigger_run`], limited to the blocks `scope` names (see
    /// [`Runs::create_limited_run`]).
    pub async fn trigger_limited_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
        scope: Option<RunScope>,
    ) -> Result<Run> {
        let run = self
            .create_limited_run(pipeline, variables, trigger, scope)
            .await?;
        self.enqueue(&run).await;
        Ok(run)
    }

    /// Record and enqueue a run started by a trigger; a conflict when the pipeline already has
    /// `max_concurrent_runs` runs queued or running.
    pub async fn trigger_limited(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
    ) -> Result<Run> {
        let spec = self.project.load(pipeline)?;
        if let Some(limit) = spec.max_concurrent_runs {
            let active = self.store.active_runs(pipeline).await?;
            if active >= limit as i64 {
                return Err(Error::conflict(format!(
                    "pipeline {pipeline} has {active} run(s) queued or running (max_concurrent_runs: {limit})"
                )));
            }
        }
        let run = self.record(&spec, variables, trigger, None, None).await?;
        self.enqueue(&run).await;
        Ok(run)
    }

    /// Cancel a queued or running run. A queued run ends at once; a running one stops within
    /// moments: its running blocks are dropped (a command's process is killed) and the rest
    /// are marked cancelled.
    pub async fn cancel_run(&self, id: &str) -> Result<Run> {
        let run = self.store.request_cancel(id).await?;
        if run.status == RunStatus::Running {
            self.events
                .publish(Event::CancelRequested {
                    run_id: id.to_string(),
                })
                .await;
        }
        Ok(run)
    }

    /// Start a new run of a failed (or cancelled) run's pipeline with the same variables and
    /// block limits, which reuses the stored outputs of the blocks that succeeded, when their
    /// kind, config and inputs are unchanged, and runs the rest.
    pub async fn rerun(&self, id: &str) -> Result<Run> {
        let original = self.store.run(id).await?;
        if !matches!(original.status, RunStatus::Failed | RunStatus::Cancelled) {
            return Err(Error::conflict(format!(
                "run {id} is {}: only a failed or cancelled run can be re-run from where it stopped (start a new run instead)",
                original.status.as_str()
            )));
        }
        let spec = self.project.load(&original.pipeline)?;
        let run = self
            .record(
                &spec,
                original.variables,
                &format!("rerun:{id}"),
                Some(id.to_string()),
                original.scope,
            )
            .await?;
        self.enqueue(&run).await;
        Ok(run)
    }

    /// Record a run of a loaded pipeline (queued) with its tracking run, in one transaction.
    async fn record(
        &self,
        spec: &Pipeline,
        variables: Map<String, Value>,
        trigger: &str,
        rerun_of: Option<String>,
        scope: Option<RunScope>,
    ) -> Result<Run> {
        spec.resolve_configs(&variables)?;
        if let Some(scope) = &scope {
            // Refused now rather than failed later: the executor takes the outputs again when
            // it starts (newer ones may have come by then).
            self.limits(spec, scope).await?;
        }
        // The run records every variable's value, not only the overrides.
        let variables = spec.merge_variables(&variables)?;
        let id = self
            .tracking
            .create_tracked_run(NewRun {
                pipeline: spec.name.clone(),
                trigger: trigger.to_string(),
                variables,
                blocks: spec
                    .blocks
                    .iter()
                    .map(|b| (b.name.clone(), b.kind.as_str().to_string()))
                    .collect(),
                rerun_of,
                scope,
            })
            .await?;
        self.store.run(&id).await
    }

    /// What a run limited to `scope` runs, with the newest stored output of every block that
    /// feeds it.
    async fn limits(&self, spec: &Pipeline, scope: &RunScope) -> Result<Limited> {
        let plan = spec.plan(scope)?;
        let mut inputs = std::collections::HashMap::new();
        for block in &plan.load {
            let Some(stored) = self.store.latest_output(&spec.name, block).await? else {
                return Err(Error::conflict(format!(
                    "block {block} has no stored output (no run of pipeline {} has completed it); run the pipeline once first",
                    spec.name
                )));
            };
            inputs.insert(block.clone(), stored);
        }
        Ok(Limited { plan, inputs })
    }

    /// Hand a recorded run to the executors.
    async fn enqueue(&self, run: &Run) {
        // The run is recorded: it will run even if the queue cannot take it now, because the
        // scheduler re-sends runs that stay queued. So this is not the caller's failure.
        if let Err(e) = self.queue.enqueue(&run.id).await {
            tracing::warn!(run = %run.id, error = %e, "run recorded but not enqueued; the scheduler will enqueue it");
        }
    }

    /// Claim a queued run for `holder` and execute it, renewing the lease meanwhile.
    /// `None` when the run was not queued (another holder has it, or it ended).
    pub async fn execute_run(
        &self,
        run_id: &str,
        holder: &str,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<Option<RunOutcome>> {
        let Some(run) = self.store.claim_run(run_id, holder).await? else {
            return Ok(None);
        };
        // Crash tests: an executor that dies right after claiming leaves a run that no one
        // heartbeats; the scheduler must give it back.
        fail::fail_point!("run.after_claim");
        // The heartbeat renews the lease and carries two signals to the engine: the lease is
        // lost (this executor stalled and the run was given to another) or a cancel was asked.
        // It stops with this call, however the call ends (an unwinding panic included).
        let stop = Arc::new(StopSignal::default());
        let heartbeat = AbortOnDrop(self.spawn_heartbeat(&run.id, holder, stop.clone()));
        let reuse = match &run.rerun_of {
            Some(original) => self.store.stored_outputs(original).await?,
            None => Default::default(),
        };
        let prepared = match self.project.load(&run.pipeline) {
            Ok(spec) => match &run.scope {
                Some(scope) => self.limits(&spec, scope).await.map(|l| (spec, Some(l))),
                None => Ok((spec, None)),
            },
            Err(e) => Err(e),
        };
        let outcome = match prepared {
            Ok((spec, limited)) => {
                let execution = Execution {
                    run_id: &run.id,
                    variables: &run.variables,
                    reuse,
                    limited,
                    stop: &stop,
                    progress,
                };
                engine::execute(&self.engine, Arc::new(spec), execution).await
            }
            Err(e) => Ok(RunOutcome {
                status: RunStatus::Failed,
                error: Some(e.to_string()),
                summary: Value::Object(Map::new()),
            }),
        };
        drop(heartbeat);
        // Crash tests: an executor that dies after the work and before recording it leaves a
        // run that must run again, once.
        fail::fail_point!("run.before_finish");
        let outcome = outcome.unwrap_or_else(|e| RunOutcome {
            status: RunStatus::Failed,
            error: Some(format!("run aborted: {e}")),
            summary: Value::Object(Map::new()),
        });
        if !self.record_outcome(&run.id, holder, &outcome).await {
            tracing::warn!(run = %run.id, "the run was taken over by another executor; its outcome here is discarded");
            return Ok(None);
        }
        self.tracking
            .end_tracking_run(&run.id, outcome.status)
            .await;
        self.events
            .publish(Event::RunFinished {
                run_id: run.id.clone(),
                status: outcome.status.as_str().into(),
            })
            .await;
        tracing::info!(run = %run.id, pipeline = %run.pipeline, status = outcome.status.as_str(), "run finished");
        Ok(Some(outcome))
    }

    /// Renew the run's lease every [`HEARTBEAT_EVERY`] until aborted, raising `stop` when a
    /// cancel was asked or the lease went to another holder.
    fn spawn_heartbeat(
        &self,
        run_id: &str,
        holder: &str,
        stop: Arc<StopSignal>,
    ) -> tokio::task::JoinHandle<()> {
        let (store, id, holder) = (self.store.clone(), run_id.to_string(), holder.to_string());
        let mut events = self.events.subscribe();
        tokio::spawn(async move {
            loop {
                // A cancel event cuts the wait short; the heartbeat then reads the flag.
                tokio::select! {
                    _ = tokio::time::sleep(HEARTBEAT_EVERY) => {}
                    Ok(Event::CancelRequested { run_id }) = events.recv() => {
                        if run_id != id {
                            continue;
                        }
                    }
                }
                match store.heartbeat(&id, &holder).await {
                    Ok(Some(false)) => {}
                    Ok(Some(true)) => {
                        tracing::info!(run = %id, "cancel requested; stopping");
                        stop.stop(StopReason::Cancelled);
                    }
                    Ok(None) => {
                        tracing::warn!(run = %id, "lease lost to another executor; stopping");
                        stop.stop(StopReason::LeaseLost);
                        return;
                    }
                    Err(e) => tracing::warn!(run = %id, error = %e, "heartbeat failed"),
                }
            }
        })
    }

    /// Record how a run ended, retrying while the store is unreachable (a database restart must
    /// not turn a finished run into one that runs again). False if another holder has it.
    async fn record_outcome(&self, run_id: &str, holder: &str, outcome: &RunOutcome) -> bool {
        until_written("record the run's outcome", run_id, || {
            self.store.finish_run(
                run_id,
                holder,
                outcome.status,
                outcome.error.as_deref(),
                &outcome.summary,
            )
        })
        .await
    }

    /// Give back (to the store and the queue) every running run whose holder stopped
    /// heartbeating for longer than `lease`. Returns how many.
    pub async fn requeue_stale(&self, lease: Duration) -> Result<usize> {
        let stale = self.store.requeue_stale(&crate::clock::ago(lease)).await?;
        for id in &stale {
            tracing::warn!(run = %id, "holder stopped heartbeating; run re-queued");
            self.queue.enqueue(id).await?;
        }
        Ok(stale.len())
    }

    /// Enqueue again the runs queued for longer than `age` (their message may have been lost:
    /// a queue that was unreachable when they were triggered). Returns how many.
    pub async fn resend_old_queued(&self, age: Duration) -> Result<usize> {
        let old = self
            .store
            .queued_run_ids_before(&crate::clock::ago(age))
            .await?;
        for id in &old {
            self.queue.enqueue(id).await?;
        }
        Ok(old.len())
    }

    /// After a start: requeue stale runs and put every queued run back on the queue.
    /// Returns how many runs are queued.
    pub async fn recover_runs(&self, lease: Duration) -> Result<usize> {
        // Stale runs become queued here and are enqueued with the others just below.
        self.store.requeue_stale(&crate::clock::ago(lease)).await?;
        let queued = self.store.queued_run_ids().await?;
        for id in &queued {
            self.queue.enqueue(id).await?;
        }
        Ok(queued.len())
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
