//! Writes logged predictions to the store in batches.

use ironmage_core::store::{PredictionRecord, PredictionStore};
use std::time::Duration;
use tokio::sync::mpsc;

const BATCH: usize = 500;

/// Drain the channel until every sender is gone, writing at most `BATCH` rows per transaction.
pub async fn run(store: PredictionStore, mut receiver: mpsc::Receiver<PredictionRecord>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        // A failed write is retried a few times: the log is an audit trail, not a best effort.
        for attempt in 1..=5 {
            match store.insert_predictions(&batch).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    tracing::warn!(error = %e, attempt, rows = batch.len(), "prediction log write failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, rows = batch.len(), "prediction log write failed; rows lost")
                }
            }
        }
        batch.clear();
    }
}
