//! One block of a run: its attempts with retries and exponential backoff, each under the
//! block's time limit, its live log, and the record of how it ended (output stored for re-runs).

use super::blocks::Output;
use super::context::BlockContext;
use super::context::Progress;
use super::fan_out;
use super::spec::Block;
use crate::clock;
use crate::error::{Error, Result};
use crate::store::{BlockStatus, BlockUpdate, RunStore};
use futures::FutureExt;
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// How often a running block's log is written to the store, so the run page shows it live.
const LOG_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How a block's attempts ended.
pub(super) enum Ended {
    /// An attempt gave an output.
    Succeeded(Output),
    /// Every attempt failed; the last one's error.
    Failed(String),
}

/// Everything one block needs to run, owned so it can run as a task of its own.
pub(super) struct BlockJob {
    pub ctx: BlockContext,
    pub block: Block,
    /// The name its run is recorded under: the block's, or `name:3` for one item of a fan-out.
    pub record_as: String,
    /// For a dynamic block, the most items its output may fan out into.
    pub max_items: Option<usize>,
    /// Where the block's run is recorded.
    pub runs: RunStore,
    pub config: Value,
    pub inputs: Vec<Output>,
    pub fingerprint: String,
    pub progress: UnboundedSender<Progress>,
}

impl BlockJob {
    /// Run the attempts and record the outcome. `Err` only when the store cannot be written.
    pub(super) async fn run(self) -> Result<Ended> {
        let block = &self.block;
        let store = &self.runs;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let started_at = clock::now();
            let started = Instant::now();
            let _ = self.progress.send(Progress::Started {
                block: self.record_as.clone(),
                attempt,
            });
            let snapshot = |status, ended_at, error, preview, output_ref| BlockUpdate {
                status,
                attempts: attempt as i64,
                started_at: Some(started_at.clone()),
                ended_at,
                error,
                logs: self.logs(),
                preview,
                fingerprint: Some(self.fingerprint.clone()),
                output_ref,
            };
            store
                .update_block(
                    &self.ctx.run_id,
                    &self.record_as,
                    &snapshot(BlockStatus::Running, None, None, None, None),
                )
                .await?;
            let result =
                (self.attempt_once(block.timeout, &started_at, attempt).await).and_then(|output| {
                    match self.max_items {
                        Some(max) => fan_out::check_count(&output, max).map(|()| output),
                        None => Ok(output),
                    }
                });
            let elapsed = started.elapsed();
            match result {
                Ok(output) => {
                    let output_ref = self.persist(&output).await?;
                    let update = snapshot(
                        BlockStatus::Success,
                        Some(clock::now()),
                        None,
                        Some(output.preview()),
                        output_ref,
                    );
                    store
                        .update_block(&self.ctx.run_id, &self.record_as, &update)
                        .await?;
                    self.finished(BlockStatus::Success, elapsed, None);
                    return Ok(Ended::Succeeded(output));
                }
                Err(e) if attempt <= block.retries => {
                    let delay = Duration::from_millis(
                        block
                            .retry_delay_ms
                            .saturating_mul(1 << (attempt - 1).min(16)),
                    );
                    self.ctx.log(format!(
                        "attempt {attempt} failed: {e}; retrying in {} ms",
                        delay.as_millis()
                    ));
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    let message = self.ctx.services.secrets.mask(&e.to_string());
                    self.ctx.log(format!("❌ {message}"));
                    let update = snapshot(
                        BlockStatus::Failed,
                        Some(clock::now()),
                        Some(message.clone()),
                        None,
                        None,
                    );
                    store
                        .update_block(&self.ctx.run_id, &self.record_as, &update)
                        .await?;
                    self.finished(BlockStatus::Failed, elapsed, Some(message.clone()));
                    return Ok(Ended::Failed(message));
                }
            }
        }
    }

    /// One attempt: the block's future under its time limit, catching a panic as a failure,
    /// and writing the log to the store every second while it runs.
    async fn attempt_once(
        &self,
        limit: Option<Duration>,
        started_at: &str,
        attempt: u32,
    ) -> Result<Output> {
        let block = &self.block;
        let work = AssertUnwindSafe(block.kind.run(&self.ctx, &self.config, self.inputs.clone()))
            .catch_unwind()
            .map(|r| {
                r.unwrap_or_else(|_| Err(Error::internal(format!("block {} panicked", block.name))))
            });
        let with_live_log = async {
            tokio::pin!(work);
            let mut flush = tokio::time::interval_at(
                tokio::time::Instant::now() + LOG_FLUSH_EVERY,
                LOG_FLUSH_EVERY,
            );
            let mut flushed = 0;
            loop {
                tokio::select! {
                    result = &mut work => return result,
                    _ = flush.tick() => {
                        let logs = self.logs();
                        if logs.len() != flushed {
                            flushed = logs.len();
                            let update = BlockUpdate {
                                status: BlockStatus::Running,
                                attempts: attempt as i64,
                                started_at: Some(started_at.to_string()),
                                ended_at: None,
                                error: None,
                                logs,
                                preview: None,
                                fingerprint: Some(self.fingerprint.clone()),
                                output_ref: None,
                            };
                            // A missed live update is harmless: the final record has every line.
                            let _ = self.runs.update_block(&self.ctx.run_id, &self.record_as, &update).await;
                        }
                    }
                }
            }
        };
        match limit {
            None => with_live_log.await,
            Some(limit) => tokio::time::timeout(limit, with_live_log)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::invalid(format!(
                        "timed out after {:.1} s (timeout_secs)",
                        limit.as_secs_f64()
                    )))
                }),
        }
    }

    /// Store the output for a later re-run of this run; an empty output needs no artifact.
    async fn persist(&self, output: &Output) -> Result<Option<String>> {
        if matches!(output, Output::Empty) {
            return Ok(None);
        }
        let (output, artifacts) = (output.clone(), self.ctx.services.artifacts.clone());
        let reference = self
            .ctx
            .blocking(move || artifacts.put(&output.encode()?))
            .await?;
        Ok(Some(reference))
    }

    fn logs(&self) -> Vec<String> {
        self.ctx.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn finished(&self, status: BlockStatus, elapsed: Duration, error: Option<String>) {
        let _ = self.progress.send(Progress::Finished {
            block: self.record_as.clone(),
            status,
            elapsed,
            error,
        });
    }
}
