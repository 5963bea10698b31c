//! The prediction service (port 5000): serves the Production version of one model from memory
//! and swaps to a new Production version without a restart and without a failed request.
//!
//! Threading: the model lives in an [`ArcSwapOption`]; a request takes the current `Arc` once
//! and finishes on it, so a swap never tears a request. A background task (the swapper) wakes on
//! stage-change events and on a short poll, loads the new version off the request path
//! (artifacts hash-checked, one warm-up prediction) and swaps it in. Predictions are logged by a
//! second task in batches, so logging never slows an answer.

mod handlers;
mod log_writer;
mod state;
mod swapper;

pub use state::{
    PredictionConfig, ServingSources, ServingState, DEFAULT_BODY_LIMIT, DEFAULT_MODEL,
    DEFAULT_POLL_MS, MIN_POLL_MS,
};
pub use swapper::{RefreshOutcome, Swapper};

use arc_swap::ArcSwapOption;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Predictions waiting to be written, at most (about 1 KiB each).
const LOG_QUEUE: usize = 8_192;

/// A running prediction role: its state and its background tasks.
pub struct PredictionService {
    /// Shared state (hand it to [`configure`]).
    pub state: Arc<ServingState>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    log_task: tokio::task::JoinHandle<()>,
}

impl PredictionService {
    /// Load the current Production version (if any) and start the swapper and the log writer.
    pub async fn start(sources: ServingSources, config: PredictionConfig) -> PredictionService {
        // Bounded: when the store falls behind, answers wait for room instead of memory growing.
        let (log, receiver) = mpsc::channel(LOG_QUEUE);
        let log_task = tokio::spawn(log_writer::run(sources.log.clone(), receiver));
        let state = Arc::new(ServingState {
            sources,
            config,
            current: ArcSwapOption::empty(),
            last_error: Mutex::new(None),
            failed_version: Mutex::new(None),
            served: AtomicU64::new(0),
            log,
        });
        let swapper = Swapper::new(state.clone());
        swapper.refresh(true).await;
        let tasks = vec![tokio::spawn(swapper.run())];
        PredictionService {
            state,
            tasks,
            log_task,
        }
    }

    /// Stop the swapper and flush the prediction log.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        // Dropping the last sender ends the writer after it has written what it holds.
        let PredictionService {
            state, log_task, ..
        } = self;
        drop(state);
        let _ = tokio::time::timeout(Duration::from_secs(10), log_task).await;
    }
}

pub use handlers::configure;
