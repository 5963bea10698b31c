//! The scheduler role: makes sure no run is lost.
//!
//! Several schedulers may run; a lease in the store lets one act at a time (the others wait to
//! take over). The one holding it, every tick: gives back runs whose executor stopped
//! heartbeating, and re-enqueues every queued run when the queue lost its contents (a Redis
//! that restarted empty or was flushed); every minute it re-sends runs queued for over a
//! minute. On taking the lease it re-enqueues every queued run and adds the project's
//! `triggers.yaml` triggers it does not know yet; every tick it fires the triggers that are due
//! (see `ironmage_core::triggers`).

use ironmage_core::runs::HEARTBEAT_EVERY;
use ironmage_core::Platform;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Seconds a running run may go without a heartbeat before it is re-queued, when not set
/// (`--run-lease-secs`, [`SchedulerConfig::lease`]).
pub const DEFAULT_RUN_LEASE_SECS: u64 = 30;

/// The shortest run lease: three heartbeats, so that a late heartbeat or two never make a live
/// run look abandoned.
pub const MIN_RUN_LEASE_SECS: u64 = 3 * HEARTBEAT_EVERY.as_secs();

/// Settings of the scheduler role.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How long a running run may go without a heartbeat before it is re-queued.
    pub lease: Duration,
    /// Time between two checks.
    pub tick: Duration,
    /// This scheduler's name, recorded as the holder of the scheduler lease.
    pub id: String,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        SchedulerConfig {
            lease: Duration::from_secs(DEFAULT_RUN_LEASE_SECS),
            tick: Duration::from_secs(5),
            id: format!(
                "scheduler-{host}-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        }
    }
}

const LEASE_NAME: &str = "scheduler";

/// A run still queued after this long may have lost its queue message (the queue was
/// unreachable when it was triggered): it is sent again. A duplicate message is harmless.
const RESEND_AFTER: Duration = Duration::from_secs(60);

/// Run until `shutdown` turns true.
pub async fn run(platform: Platform, config: SchedulerConfig, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(scheduler = %config.id, "scheduler started");
    let mut leading = false;
    let mut last_sweep = Instant::now();
    let mut tick = tokio::time::interval(config.tick);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        // The lease outlives three ticks, so a leader that misses one tick keeps it.
        let lease_ttl = config.tick * 3;
        match platform
            .leases()
            .acquire_lease(LEASE_NAME, &config.id, lease_ttl)
            .await
        {
            Ok(true) => {
                if !leading {
                    tracing::info!(scheduler = %config.id, "leading");
                    leading = true;
                    // Recovery re-sends every queued run, which also settles the queue's
                    // "lost contents" marker: the first tick must not recover a second time.
                    let _ = platform.queue.lost_contents().await;
                    recover(&platform, &config).await;
                    match platform.triggers.sync_project_triggers().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(triggers = n, "added the project's triggers"),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not read the project's triggers")
                        }
                    }
                    last_sweep = Instant::now();
                }
                tick_once(&platform, &config).await;
                if last_sweep.elapsed() >= RESEND_AFTER {
                    last_sweep = Instant::now();
                    match platform.runs.resend_old_queued(RESEND_AFTER).await {
                        Ok(0) => {}
                        Ok(n) => tracing::warn!(runs = n, "re-sent runs queued for over a minute"),
                        Err(e) => tracing::warn!(error = %e, "could not re-send old queued runs"),
                    }
                }
            }
            Ok(false) => {
                if leading {
                    tracing::warn!(scheduler = %config.id, "lost the lead to another scheduler");
                }
                leading = false;
            }
            Err(e) => tracing::warn!(error = %e, "cannot reach the store; will retry"),
        }
    }
    if leading {
        let _ = platform
            .leases()
            .release_lease(LEASE_NAME, &config.id)
            .await;
    }
    tracing::info!("scheduler stopped");
}

async fn recover(platform: &Platform, config: &SchedulerConfig) {
    match platform.runs.recover_runs(config.lease).await {
        Ok(n) => tracing::info!(queued = n, "re-enqueued queued runs"),
        Err(e) => tracing::error!(error = %e, "could not recover queued runs"),
    }
}

async fn tick_once(platform: &Platform, config: &SchedulerConfig) {
    match platform
        .triggers
        .fire_due_triggers(chrono::Utc::now())
        .await
    {
        Ok(fired) => {
            for f in fired {
                tracing::info!(trigger = %f.trigger, outcome = %f.outcome, "trigger due");
            }
        }
        Err(e) => tracing::warn!(error = %e, "trigger check failed"),
    }
    if let Err(e) = platform.runs.requeue_stale(config.lease).await {
        tracing::warn!(error = %e, "stale-run check failed");
    }
    match platform.queue.lost_contents().await {
        Ok(true) => {
            tracing::warn!(
                "the job queue lost its contents; re-enqueuing the queued runs from the store"
            );
            recover(platform, config).await;
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cannot check the job queue"),
    }
}
