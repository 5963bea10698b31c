//! The scheduler role: makes sure no run is lost. At start it re-enqueues every queued run;
//! then, every tick, it gives back runs whose executor stopped heartbeating.

use ironmage_core::Platform;
use std::time::Duration;
use tokio::sync::watch;

/// Settings of the scheduler role.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How long a running run may go without a heartbeat before it is re-queued.
    pub lease: Duration,
    /// Time between two checks.
    pub tick: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            lease: Duration::from_secs(30),
            tick: Duration::from_secs(5),
        }
    }
}

/// Run until `shutdown` turns true.
pub async fn run(platform: Platform, config: SchedulerConfig, mut shutdown: watch::Receiver<bool>) {
    match platform.recover_runs(config.lease).await {
        Ok(n) => tracing::info!(requeued = n, "scheduler started"),
        Err(e) => tracing::error!(error = %e, "could not recover queued runs"),
    }
    let mut tick = tokio::time::interval(config.tick);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = platform.requeue_stale(config.lease).await {
            tracing::warn!(error = %e, "stale-run check failed");
        }
    }
    tracing::info!("scheduler stopped");
}
