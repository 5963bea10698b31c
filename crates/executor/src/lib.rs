//! The executor role: takes runs from the queue and executes them, `concurrency` at a time.
//!
//! Each worker claims a run in the store before running it (a conditional update), so a run
//! delivered twice runs once. Without a shared queue (no Redis), a quiet worker also looks in
//! the store for a queued run, which is how executors in other processes find work then.
//! On shutdown a worker stops taking work and finishes the run it holds.

use ironmage_core::pipeline::Progress;
use ironmage_core::Platform;
use std::time::Duration;
use tokio::sync::watch;

/// Runs executed at once, when not set (`--concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 2;

/// Settings of the executor role.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Runs executed at once.
    pub concurrency: usize,
    /// Name of this executor, recorded as the holder of the runs it takes.
    pub id: String,
}

impl ExecutorConfig {
    /// `concurrency` workers named after the host and process.
    pub fn new(concurrency: usize) -> ExecutorConfig {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        ExecutorConfig {
            concurrency: concurrency.max(1),
            id: format!("executor-{host}-{}", std::process::id()),
        }
    }
}

const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Run the workers until `shutdown` turns true; returns once every worker has stopped.
pub async fn run(platform: Platform, config: ExecutorConfig, shutdown: watch::Receiver<bool>) {
    tracing::info!(executor = %config.id, concurrency = config.concurrency, "executor started");
    let workers: Vec<_> = (0..config.concurrency)
        .map(|n| {
            tokio::spawn(worker(
                platform.clone(),
                format!("{}-{n}", config.id),
                shutdown.clone(),
            ))
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    tracing::info!(executor = %config.id, "executor stopped");
}

async fn worker(platform: Platform, holder: String, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        let claimed = tokio::select! {
            job = platform.queue.claim(&holder, IDLE_WAIT) => job,
            _ = shutdown.changed() => break,
        };
        let run_id = match claimed {
            Ok(Some(job)) => {
                execute(&platform, &job.run_id, &holder).await;
                // Crash tests: dying between the recorded outcome and the ack leaves the message
                // to be delivered again; the store's claim makes that delivery a no-op.
                fail::fail_point!("executor.before_ack");
                if let Err(e) = platform.queue.ack(&job).await {
                    tracing::warn!(run = %job.run_id, error = %e, "ack failed");
                }
                continue;
            }
            // A shared queue delivers every run; the scheduler refills it if it loses some.
            Ok(None) if platform.queue.is_shared() => None,
            Ok(None) => match platform.runs.queued_run_ids().await {
                Ok(ids) => ids.into_iter().next(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot look for queued runs");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the queue");
                tokio::time::sleep(IDLE_WAIT).await;
                None
            }
        };
        if let Some(run_id) = run_id {
            execute(&platform, &run_id, &holder).await;
        }
    }
}

async fn execute(platform: &Platform, run_id: &str, holder: &str) {
    let progress = |p: &Progress| {
        if let Progress::Finished {
            block,
            status,
            elapsed,
            ..
        } = p
        {
            tracing::info!(run = %run_id, block = %block, status = status.as_str(), seconds = elapsed.as_secs_f64(), "block finished");
        }
    };
    match platform.runs.execute_run(run_id, holder, &progress).await {
        Ok(Some(_)) | Ok(None) => {}
        Err(e) => tracing::error!(run = %run_id, error = %e, "run could not be recorded"),
    }
}
