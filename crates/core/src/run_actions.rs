//! Acting on a run after it was triggered: cancel it, or re-run a failed one from the block
//! that failed.

use crate::error::{Error, Result};
use crate::events::Event;
use crate::platform::Platform;
use crate::store::{Run, RunStatus};

impl Platform {
    /// Cancel a queued or running run. A queued run ends at once; a running one stops within
    /// moments: its running blocks are dropped (a command's process is killed) and the rest
    /// are marked cancelled.
    pub async fn cancel_run(&self, id: &str) -> Result<Run> {
        let run = self.store.request_cancel(id).await?;
        if run.status == RunStatus::Running {
            self.events
                .publish(Event::CancelRequested {
                    run_id: id.to_string(),
                })
                .await;
        }
        Ok(run)
    }

    /// Start a new run of a failed (or cancelled) run's pipeline with the same variables, which
    /// reuses the stored outputs of the blocks that succeeded, when their kind, config and
    /// inputs are unchanged, and runs the rest.
    pub async fn rerun(&self, id: &str) -> Result<Run> {
        let original = self.store.run(id).await?;
        if !matches!(original.status, RunStatus::Failed | RunStatus::Cancelled) {
            return Err(Error::conflict(format!(
                "run {id} is {}: only a failed or cancelled run can be re-run from where it stopped (start a new run instead)",
                original.status.as_str()
            )));
        }
        let run = self
            .record_run(
                &original.pipeline,
                original.variables,
                &format!("rerun:{id}"),
                Some(id.to_string()),
            )
            .await?;
        self.enqueue(&run).await;
        Ok(run)
    }
}
