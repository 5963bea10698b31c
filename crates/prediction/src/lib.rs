//! The prediction service (port 5000): serves the Production version of every registered
//! model (or those `--models` names) from memory, whatever trained it, and swaps each to its
//! new Production version without a restart and without a failed request.
//!
//! A background task (the swapper) wakes on stage-change events and on a short poll, loads new
//! versions off the request path (artifacts hash-checked, one warm-up prediction) and swaps
//! them in. Predictions are logged by a second task from a bounded in-memory queue that no
//! request ever waits on, so a slow or unreachable store never slows an answer.

mod catalog;
mod handlers;
mod loader;
mod predict;
mod prediction_log;
mod select;
mod state;
mod swapper;

pub use catalog::Served;
pub use handlers::configure;
pub use loader::load as load_version;
pub use predict::{answer_rows, csv_values, logged_inputs};
pub use prediction_log::{LogStats, PredictionLog};
pub use state::{
    glob_match, LoadFailurePolicy, PredictionConfig, ServingSources, ServingState,
    DEFAULT_BODY_LIMIT, DEFAULT_LOG_QUEUE, DEFAULT_MODEL, DEFAULT_POLL_MS, MIN_POLL_MS,
};
pub use swapper::{RefreshOutcome, Swapper};

use catalog::Catalog;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// A running prediction role: its state and its background tasks.
pub struct PredictionService {
    /// Shared state (hand it to [`configure`]).
    pub state: Arc<ServingState>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    log_task: tokio::task::JoinHandle<()>,
}

impl PredictionService {
    /// Load the Production version of every served model and start the swapper and the log
    /// writer.
    pub async fn start(sources: ServingSources, config: PredictionConfig) -> PredictionService {
        let (log, log_task) = PredictionLog::start(sources.log.clone(), config.log_queue);
        let state = Arc::new(ServingState {
            sources,
            config,
            catalog: Catalog::default(),
            log,
            served: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let swapper = Swapper::new(state.clone());
        swapper.refresh_all(true).await;
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
