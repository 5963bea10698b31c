//! The prediction log, off the request path: answers are queued in memory (never awaited by a
//! request; a full queue drops the entry and counts it) and a writer task appends them to the
//! store in transactions of multi-row inserts (see `PredictionStore::insert_predictions`).

use ironmage_core::store::{PredictionRecord, PredictionStore};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Rows written per transaction, at most.
const BATCH: usize = 512;

/// How long the writer rests after a write before taking the next batch. Under load the queue
/// fills meanwhile and the next write takes hundreds of rows at once; without the rest, an idle
/// writer is woken (a futex call across threads) by every single answer.
const REST: Duration = Duration::from_millis(10);

impl PredictionLog {
    /// A log queueing at most `capacity` entries, and the task that writes them. The task ends
    /// once every [`PredictionLog`] clone is dropped and the queue is written.
    pub fn start(
        store: PredictionStore,
        capacity: usize,
    ) -> (PredictionLog, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let counters = Arc::new(LogCounters::default());
        let task = tokio::spawn(write(store, receiver, counters.clone()));
        (PredictionLog { sender, counters }, task)
    }

    /// Queue an entry; when the queue is full (the store is slow or down) the entry is dropped
    /// and counted, and the answer goes out regardless.
    pub fn push(&self, record: PredictionRecord) {
        match self.sender.try_send(record) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                let before = self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                // One line per 10,000 drops: a flood of answers must not become a flood of logs.
                if before.is_multiple_of(10_000) {
                    tracing::warn!(
                        dropped = before + 1,
                        "prediction log queue full; entries dropped"
                    );
                }
            }
        }
    }

    /// What the log has done since start.
    pub fn stats(&self) -> LogStats {
        let c = &self.counters;
        LogStats {
            queued: c.queued.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            pending: (self.sender.max_capacity() - self.sender.capacity()) as u64,
            store_failing: c.failing.load(Ordering::Relaxed),
        }
    }
}

/// Drain the queue until every sender is gone.
async fn write(
    store: PredictionStore,
    mut receiver: mpsc::Receiver<PredictionRecord>,
    counters: Arc<LogCounters>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        // A failed write is retried with backoff while the queue absorbs new entries; only a
        // batch that fails for a minute is given up (counted as lost).
        let mut delay = Duration::from_millis(100);
        let mut waited = Duration::ZERO;
        loop {
            match store.insert_predictions(&batch).await {
                Ok(()) => {
                    counters
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    counters.failing.store(false, Ordering::Relaxed);
                    break;
                }
                Err(e) if waited < Duration::from_secs(60) => {
                    if !counters.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, rows = batch.len(), "prediction log write failed; retrying");
                    }
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    counters
                        .lost
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tracing::error!(error = %e, rows = batch.len(), "prediction log write failed for a minute; rows lost");
                    break;
                }
            }
        }
        batch.clear();
        tokio::time::sleep(REST).await;
    }
}

#[derive(Default)]
struct LogCounters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    lost: AtomicU64,
    failing: AtomicBool,
}

/// Where answers queue for the writer. Cheap to clone.
#[derive(Clone)]
pub struct PredictionLog {
    sender: mpsc::Sender<PredictionRecord>,
    counters: Arc<LogCounters>,
}

/// The log's counters, as `/health` shows them.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct LogStats {
    /// Entries queued since start.
    pub queued: u64,
    /// Entries written to the store.
    pub written: u64,
    /// Entries dropped because the queue was full.
    pub dropped: u64,
    /// Entries given up after the store failed for a minute.
    pub lost: u64,
    /// Entries waiting to be written.
    pub pending: u64,
    /// Whether the last write failed.
    pub store_failing: bool,
}
