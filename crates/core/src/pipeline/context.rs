//! What a running block can reach, and how a run is told to stop.

use super::spec::Pipeline;
use crate::error::{Error, Result};
use crate::platform::Platform;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What a running block can reach.
pub struct BlockContext {
    /// The platform (store, artifacts, events, project).
    pub platform: Platform,
    /// The run it belongs to.
    pub run_id: String,
    /// The pipeline being run.
    pub pipeline: Arc<Pipeline>,
    /// The run's variables (defaults merged with the run's values).
    pub variables: Arc<Map<String, Value>>,
    pub(super) block: String,
    pub(super) logs: Arc<Mutex<Vec<String>>>,
}

impl BlockContext {
    /// The name of the running block.
    pub fn block_name(&self) -> &str {
        &self.block
    }

    /// Add a line to the block's log (and to the process log).
    pub fn log(&self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!(run = %self.run_id, block = %self.block, "{line}");
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(line);
        }
    }

    /// Run CPU-bound work on the blocking pool.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::internal(format!("block {} crashed: {e}", self.block)))?
    }
}

/// Why a run stops before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A user cancelled it.
    Cancelled,
    /// This executor lost the run's lease: another one runs it now.
    LeaseLost,
}

/// Tells a running pipeline to stop: running blocks are dropped (a `command` block's process
/// is killed) and no further block starts.
#[derive(Debug, Default)]
pub struct StopSignal {
    reason: Mutex<Option<StopReason>>,
    notify: Notify,
}

impl StopSignal {
    /// Ask the run to stop; the first reason given wins.
    pub fn stop(&self, reason: StopReason) {
        if let Ok(mut current) = self.reason.lock() {
            current.get_or_insert(reason);
        }
        self.notify.notify_waiters();
    }

    /// Why the run must stop, if it must.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.lock().ok().and_then(|r| *r)
    }

    /// Wait until the run is asked to stop.
    pub async fn stopped(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a stop between the check and the wait is seen.
            notified.as_mut().enable();
            if self.reason().is_some() {
                return;
            }
            notified.await;
        }
    }
}
