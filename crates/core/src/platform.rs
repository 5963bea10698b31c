//! The platform handle every role shares, and the service calls the edges (HTTP, CLI) make:
//! one call per user action, with validation inside so every edge gets the same checks.

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::lineage;
use crate::pipeline::{
    engine, Execution, Pipeline, Progress, Project, RunOutcome, StopReason, StopSignal,
};
use crate::queue::{Queue, RedisQueue};
use crate::store::{ModelVersion, NewRun, Run, RunStatus, Stage, Store};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the platform keeps things.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// Data folder of the embedded default (SQLite file, artifacts).
    pub data_dir: PathBuf,
    /// Metadata database; `sqlite://<data_dir>/ironmage.db` when absent.
    pub database_url: Option<String>,
    /// Artifact folder; `<data_dir>/artifacts` when absent.
    pub artifact_dir: Option<PathBuf>,
    /// Project folder holding `pipelines/`.
    pub project_dir: PathBuf,
    /// Redis for the shared job queue and event bus; in-process ones when absent.
    pub redis_url: Option<String>,
}

impl PlatformConfig {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("ironmage.db").display()
            )
        })
    }

    /// The artifact folder in effect.
    pub fn artifact_dir(&self) -> PathBuf {
        self.artifact_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("artifacts"))
    }
}

/// Store, artifacts, queue, events and project: what a role needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Platform {
    /// Metadata store.
    pub store: Store,
    /// Artifact store.
    pub artifacts: ArtifactStore,
    /// Job queue.
    pub queue: Queue,
    /// Event bus.
    pub events: EventBus,
    /// Project folder.
    pub project: Project,
}

/// How often a running run's holder renews its lease.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// How long a queue message may stay unacknowledged before another executor takes it over.
/// Taking it over is harmless: the run itself is claimed in the store, once.
pub const RECLAIM_AFTER: Duration = Duration::from_secs(30);

impl Platform {
    /// Open the stores (running migrations), and the queue and bus: Redis when configured,
    /// in-process otherwise.
    pub async fn open(config: &PlatformConfig) -> Result<Platform> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            Error::internal(format!(
                "cannot create data dir {}: {e}",
                config.data_dir.display()
            ))
        })?;
        Ok(Platform {
            store: Store::connect(&config.database_url()).await?,
            artifacts: ArtifactStore::open(config.artifact_dir())?,
            queue: match &config.redis_url {
                Some(url) => Queue::Redis(RedisQueue::connect(url, RECLAIM_AFTER).await?),
                None => Queue::local(),
            },
            events: match &config.redis_url {
                Some(url) => EventBus::redis(url).await?,
                None => EventBus::local(),
            },
            project: Project::new(&config.project_dir),
        })
    }

    /// Validate a run request and record it as queued (not yet enqueued).
    pub async fn create_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
    ) -> Result<Run> {
        self.record_run(pipeline, variables, trigger, None).await
    }

    pub(crate) async fn record_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
        rerun_of: Option<String>,
    ) -> Result<Run> {
        let spec = self.project.load(pipeline)?;
        self.record_loaded_run(&spec, variables, trigger, rerun_of)
            .await
    }

    /// [`Platform::record_run`] for a pipeline the caller has loaded.
    pub(crate) async fn record_loaded_run(
        &self,
        spec: &Pipeline,
        variables: Map<String, Value>,
        trigger: &str,
        rerun_of: Option<String>,
    ) -> Result<Run> {
        spec.resolve_configs(&variables)?;
        // The run records every variable's value, not only the overrides.
        let variables = spec.merge_variables(&variables)?;
        let run = self
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
            })
            .await?;
        Ok(run)
    }

    /// Validate, record and enqueue a run; executors pick it up.
    pub async fn trigger_run(
        &self,
        pipeline: &str,
        variables: Map<String, Value>,
        trigger: &str,
    ) -> Result<Run> {
        let run = self.create_run(pipeline, variables, trigger).await?;
        self.enqueue(&run).await;
        Ok(run)
    }

    /// Hand a recorded run to the executors.
    pub(crate) async fn enqueue(&self, run: &Run) {
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
        // The heartbeat renews the lease and carries two signals to the engine: the lease is
        // lost (this executor stalled and the run was given to another) or a cancel was asked.
        let stop = Arc::new(StopSignal::default());
        let heartbeat = {
            let (store, id, holder, stop) = (
                self.store.clone(),
                run.id.clone(),
                holder.to_string(),
                stop.clone(),
            );
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
        };
        let reuse = match &run.rerun_of {
            Some(original) => self.store.stored_outputs(original).await?,
            None => Default::default(),
        };
        let outcome = match self.project.load(&run.pipeline) {
            Ok(spec) => {
                let execution = Execution {
                    run_id: &run.id,
                    variables: &run.variables,
                    reuse,
                    stop: &stop,
                    progress,
                };
                engine::execute(self, Arc::new(spec), execution).await
            }
            Err(e) => Ok(RunOutcome {
                status: RunStatus::Failed,
                error: Some(e.to_string()),
                summary: Value::Object(Map::new()),
            }),
        };
        heartbeat.abort();
        let outcome = outcome.unwrap_or_else(|e| RunOutcome {
            status: RunStatus::Failed,
            error: Some(format!("run aborted: {e}")),
            summary: Value::Object(Map::new()),
        });
        if !self.record_outcome(&run.id, holder, &outcome).await {
            tracing::warn!(run = %run.id, "the run was taken over by another executor; its outcome here is discarded");
            return Ok(None);
        }
        self.end_tracking_run(&run.id, outcome.status).await;
        self.events
            .publish(Event::RunFinished {
                run_id: run.id.clone(),
                status: outcome.status.as_str().into(),
            })
            .await;
        tracing::info!(run = %run.id, pipeline = %run.pipeline, status = outcome.status.as_str(), "run finished");
        Ok(Some(outcome))
    }

    /// Record how a run ended, retrying while the store is unreachable (a database restart must
    /// not turn a finished run into one that runs again). False if another holder has it.
    async fn record_outcome(&self, run_id: &str, holder: &str, outcome: &RunOutcome) -> bool {
        let mut delay = Duration::from_millis(200);
        loop {
            match self
                .store
                .finish_run(
                    run_id,
                    holder,
                    outcome.status,
                    outcome.error.as_deref(),
                    &outcome.summary,
                )
                .await
            {
                Ok(recorded) => return recorded,
                Err(e) => {
                    tracing::warn!(run = %run_id, error = %e, "cannot record the run's outcome yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Move a version to a stage (archiving the old Production on promotion), audited, and
    /// tell the prediction services. Refused (conflict) for Production when the model's policy
    /// requires approvals: those go through an approval request.
    pub async fn transition(
        &self,
        model: &str,
        version: i64,
        stage: Stage,
        actor: &str,
        reason: &str,
    ) -> Result<ModelVersion> {
        if stage == Stage::Production {
            let required = self.store.approvals_binding(model).await?;
            if required > 0 {
                return Err(Error::conflict(format!(
                    "model {model} needs {required} approval(s) for Production (its policy): request them with `ironmage models promote {model} --version {version} --to production` or POST /api/models/{model}/requests"
                )));
            }
        }
        self.move_stage(model, version, stage, actor, reason).await
    }

    /// Move a version to a stage without the approval check: a rollback restores a version
    /// that was approved before.
    pub(crate) async fn move_stage(
        &self,
        model: &str,
        version: i64,
        stage: Stage,
        actor: &str,
        reason: &str,
    ) -> Result<ModelVersion> {
        crate::names::check_model_name(model)?;
        if reason.trim().is_empty() {
            return Err(Error::invalid_field(
                "reason",
                "a stage change needs a reason",
            ));
        }
        let changed = self
            .store
            .transition(model, version, stage, actor, reason)
            .await?;
        self.events
            .publish(Event::StageChanged {
                model: model.to_string(),
                version,
                stage: stage.as_str().into(),
            })
            .await;
        Ok(changed)
    }

    /// The lineage document of one version, with its prediction summary.
    pub async fn lineage(&self, model: &str, version: i64) -> Result<Value> {
        let version = self.store.version(model, version).await?;
        let dataset = match &version.dataset_version {
            Some(v) => Some(self.store.dataset(v).await?),
            None => None,
        };
        let predictions = self
            .store
            .prediction_summary(model, version.version, 20)
            .await?;
        Ok(lineage::render(&version, dataset.as_ref(), &predictions))
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
