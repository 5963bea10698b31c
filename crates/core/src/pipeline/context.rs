//! The run's types, at the bottom of `pipeline/`: what a running block can reach (its context
//! and services), how a run is told to stop, what it reports as it goes and how it ends.
//! Blocks import this, never the engine.

use super::python::PythonRunners;
use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::secrets::Secrets;
use crate::store::{BlockStatus, DatasetStore, ReadOnlySql, RunStatus};
use crate::tracking::Tracking;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// What blocks may use to do their work: records and files, the registry and tracking. Nothing
/// here runs pipelines or reaches the queue.
#[derive(Clone, Debug)]
pub struct BlockServices {
    /// Dataset versions (loaders record what they load).
    pub datasets: DatasetStore,
    /// Content-addressed files (snapshots, models).
    pub artifacts: ArtifactStore,
    /// Registering versions and changing their stage.
    pub registry: Registry,
    /// The run's tracking record (params, metrics).
    pub tracking: Tracking,
    /// Read-only queries on the metadata database (the `sql` block's default source).
    pub sql: ReadOnlySql,
    /// The project folder: relative paths in configs are read from here.
    pub project_root: PathBuf,
    /// Named secrets, put into configs just before a block runs and masked in its log.
    pub secrets: Secrets,
    /// The interpreter of Python blocks (`IRONMAGE_PYTHON`, default `python3`).
    pub python: PathBuf,
}

/// The pipeline as a block sees it: names and files, not the engine's plan.
#[derive(Debug, Clone)]
pub struct PipelineInfo {
    /// Pipeline name.
    pub name: String,
    /// Its file, relative to the project (`pipelines/demo_mlops/pipeline.yaml`).
    pub file: String,
    /// SHA-256 of the file.
    pub file_hash: String,
    /// Every block, in file order.
    pub blocks: Vec<BlockInfo>,
}

/// One block of the pipeline, as a block sees it.
#[derive(Debug, Clone)]
pub struct BlockInfo {
    /// Block name.
    pub name: String,
    /// Its kind as written in the file.
    pub kind: String,
    /// Its upstream block names, in order.
    pub upstream: Vec<String>,
    /// Whether it fits a model on a table (a trainer; `evaluate` passes a model on).
    pub trains: bool,
}

/// What a running block can reach.
pub struct BlockContext {
    /// What the block may use.
    pub services: Arc<BlockServices>,
    /// The run it belongs to.
    pub run_id: String,
    /// The pipeline being run.
    pub pipeline: Arc<PipelineInfo>,
    /// The run's variables (defaults merged with the run's values).
    pub variables: Arc<Map<String, Value>>,
    pub(super) block: String,
    pub(super) logs: Arc<Mutex<Vec<String>>>,
    /// The run's Python block runners, shared by its blocks.
    pub(super) python: Arc<PythonRunners>,
    /// For a callback block, the outcome it runs on: `success` or `failure`.
    pub(super) callback: Option<&'static str>,
    /// For one item's run of a dynamic block's direct downstream block: the dynamic block,
    /// whose input is that item.
    pub(super) item_of: Option<String>,
}

impl BlockContext {
    /// The name of the running block.
    pub fn block_name(&self) -> &str {
        &self.block
    }

    /// The running block's upstream block names, in the order its inputs come.
    pub fn upstream_names(&self) -> Vec<String> {
        self.pipeline
            .blocks
            .iter()
            .find(|b| b.name == self.block)
            .map(|b| b.upstream.clone())
            .unwrap_or_default()
    }

    /// Add a line to the block's log (and to the process log).
    /// Secret values in the line are masked first.
    pub fn log(&self, line: impl Into<String>) {
        let line = self.services.secrets.mask(&line.into());
        tracing::info!(run = %self.run_id, block = %self.block, "{line}");
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(line);
        }
    }

    /// For a callback block, the parent's outcome it runs on: `success` or `failure` (the
    /// argument of Mage's `@callback`).
    pub fn callback_status(&self) -> Option<&'static str> {
        self.callback
    }

    /// In one item's run of a dynamic block's direct downstream block, the dynamic block (its
    /// input is the item).
    pub fn item_of(&self) -> Option<&str> {
        self.item_of.as_deref()
    }

    /// The run's Python block runners.
    pub fn python_runners(&self) -> &PythonRunners {
        &self.python
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

/// Progress of a run, for terminals and tests.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A block started an attempt.
    Started {
        /// Block name.
        block: String,
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// A block ended (or was skipped, reused, or not run).
    Finished {
        /// Block name.
        block: String,
        /// Final status.
        status: BlockStatus,
        /// Time of the last attempt.
        elapsed: Duration,
        /// Error of the last attempt, or why it did not run.
        error: Option<String>,
    },
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Final status.
    pub status: RunStatus,
    /// The first failure, if any.
    pub error: Option<String>,
    /// Data version, model version, metrics, deployment.
    pub summary: Value,
}
