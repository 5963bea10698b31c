//! What the pool has done so far: counters updated by the workers, read as a snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of [`crate::python::PythonModel`]'s activity since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PythonStats {
    /// `predict` calls accepted into the queue.
    pub requests: u64,
    /// Rows of those calls.
    pub rows: u64,
    /// Calls of the model's `predict` in the workers (a merged batch counts once; the retries of
    /// a failed merged batch count each).
    pub batches: u64,
    /// Rows sent to the model divided by `batches`: above 1 when requests were merged.
    pub mean_rows_per_batch: f64,
    /// The most rows sent to the model in one call.
    pub largest_batch_rows: u64,
    /// Requests answered with [`crate::python::PythonError::Predict`].
    pub model_errors: u64,
    /// Requests refused because the queue was full.
    pub overloaded: u64,
    /// Predictions that exceeded `predict_timeout` (their worker was killed).
    pub timeouts: u64,
    /// Worker processes that died while serving (killed, crashed, exited).
    pub worker_crashes: u64,
    /// Worker processes started again after a crash or a timeout.
    pub worker_restarts: u64,
    /// Requests waiting for a worker now.
    pub queued_requests: u64,
    /// Workers predicting now.
    pub busy_workers: u64,
    /// Workers with a loaded model now (the others are restarting).
    pub live_workers: u64,
}

/// The counters behind [`PythonStats`], shared by the workers.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub rows: AtomicU64,
    pub batches: AtomicU64,
    pub batched_rows: AtomicU64,
    pub largest_batch_rows: AtomicU64,
    pub model_errors: AtomicU64,
    pub overloaded: AtomicU64,
    pub timeouts: AtomicU64,
    pub worker_crashes: AtomicU64,
    pub worker_restarts: AtomicU64,
    pub busy_workers: AtomicU64,
    pub live_workers: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn batch(&self, rows: u64) {
        Self::add(&self.batches, 1);
        Self::add(&self.batched_rows, rows);
        self.largest_batch_rows.fetch_max(rows, Ordering::Relaxed);
    }

    pub fn snapshot(&self, queued_requests: u64) -> PythonStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let batches = get(&self.batches);
        PythonStats {
            requests: get(&self.requests),
            rows: get(&self.rows),
            batches,
            mean_rows_per_batch: if batches == 0 {
                0.0
            } else {
                get(&self.batched_rows) as f64 / batches as f64
            },
            largest_batch_rows: get(&self.largest_batch_rows),
            model_errors: get(&self.model_errors),
            overloaded: get(&self.overloaded),
            timeouts: get(&self.timeouts),
            worker_crashes: get(&self.worker_crashes),
            worker_restarts: get(&self.worker_restarts),
            queued_requests,
            busy_workers: get(&self.busy_workers),
            live_workers: get(&self.live_workers),
        }
    }
}
