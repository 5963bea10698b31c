//! A pipeline run and its tracking run, written together: one transaction over the runs and
//! the tracking tables, so neither exists without the other.

use super::run_logging::write_log;
use super::runs::{insert_run, NewRun};
use super::tracking::{insert_tracking_run, KeyValue, NewTrackingRun};
use super::TrackingStore;
use crate::error::Result;

impl TrackingStore {
    /// Record a new queued pipeline run and open its tracking run, which takes the same id
    /// (`tracking.id`, a fresh one when absent), with `params` logged, in one transaction: a
    /// pipeline run is never recorded without its tracking run, nor the reverse. Returns the id.
    pub async fn create_tracked_run(
        &self,
        run: NewRun,
        mut tracking: NewTrackingRun,
        params: &[KeyValue],
    ) -> Result<String> {
        let id = tracking
            .id
            .get_or_insert_with(|| uuid::Uuid::new_v4().simple().to_string())
            .clone();
        let mut tx = self.begin_write().await?;
        insert_run(&mut tx, &id, run).await?;
        insert_tracking_run(&mut tx, tracking).await?;
        write_log(&mut tx, &id, &[], params, &[]).await?;
        tx.commit().await?;
        Ok(id)
    }
}
