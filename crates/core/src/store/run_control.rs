//! Acting on runs after they are created: cancelling, and what a re-run may reuse.

use super::runs::{Run, RunStatus};
use super::RunStore;
use crate::clock;
use crate::error::{Error, Result};
use sqlx::Row;

/// A succeeded block's stored output, offered to a re-run or to a run limited to later blocks.
#[derive(Debug, Clone)]
pub struct StoredOutput {
    /// The run that computed it (or reused it).
    pub run_id: String,
    /// What it was computed from.
    pub fingerprint: String,
    /// The artifact holding it.
    pub output_ref: String,
}

impl RunStore {
    /// Cancel a run. A queued run ends `cancelled` at once (no executor will claim it); a
    /// running one is flagged, and its executor stops it at its next heartbeat. A run that
    /// already ended cannot be cancelled: a conflict naming its status.
    pub async fn request_cancel(&self, id: &str) -> Result<Run> {
        let now = clock::now();
        let queued = sqlx::query("UPDATE runs SET status = 'cancelled', ended_at = $2, error = 'cancelled before it started' WHERE id = $1 AND status = 'queued'")
            .bind(id)
            .bind(&now)
            .execute(&self.writer)
            .await?;
        if queued.rows_affected() == 1 {
            sqlx::query("UPDATE block_runs SET status = 'cancelled' WHERE run_id = $1 AND status = 'pending'")
                .bind(id)
                .execute(&self.writer)
                .await?;
            return self.run(id).await;
        }
        sqlx::query("UPDATE runs SET cancel_requested = 1 WHERE id = $1 AND status = 'running'")
            .bind(id)
            .execute(&self.writer)
            .await?;
        let run = self.run(id).await?;
        match run.status {
            RunStatus::Queued | RunStatus::Running => Ok(run),
            ended => Err(Error::conflict(format!(
                "run {id} already ended ({}); only a queued or running run can be cancelled",
                ended.as_str()
            ))),
        }
    }

    /// The stored outputs of the blocks that succeeded in run `id`, by block name.
    pub async fn stored_outputs(
        &self,
        id: &str,
    ) -> Result<std::collections::HashMap<String, StoredOutput>> {
        let rows = sqlx::query("SELECT run_id, block, fingerprint, output_ref FROM block_runs WHERE run_id = $1 AND status = 'success' AND fingerprint IS NOT NULL AND output_ref IS NOT NULL")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("block")?, stored_output(r)?)))
            .collect()
    }

    /// The newest stored output of `block` in any run of `pipeline` where it succeeded: what a
    /// run limited to the blocks downstream of it takes (Mage's last output of the block).
    pub async fn latest_output(&self, pipeline: &str, block: &str) -> Result<Option<StoredOutput>> {
        let row = sqlx::query("SELECT b.run_id, b.fingerprint, b.output_ref FROM block_runs b JOIN runs r ON r.id = b.run_id WHERE r.pipeline = $1 AND b.block = $2 AND b.status = 'success' AND b.fingerprint IS NOT NULL AND b.output_ref IS NOT NULL ORDER BY b.ended_at DESC, r.created_at DESC LIMIT 1")
            .bind(pipeline)
            .bind(block)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored_output).transpose()
    }

    /// How many runs of `pipeline` are queued or running.
    pub async fn active_runs(&self, pipeline: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM runs WHERE pipeline = $1 AND status IN ('queued', 'running')")
            .bind(pipeline)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

fn stored_output(row: &sqlx::any::AnyRow) -> Result<StoredOutput> {
    Ok(StoredOutput {
        run_id: row.try_get("run_id")?,
        fingerprint: row.try_get("fingerprint")?,
        output_ref: row.try_get("output_ref")?,
    })
}
