//! The engine: runs a pipeline's blocks in topological order, with retries, and records each
//! block's status, attempts, timing, log lines and output preview as it goes.
//!
//! Blocks run on the async runtime but do their CPU work through [`BlockContext::blocking`],
//! so training never stalls the threads that serve HTTP.

use super::blocks::Output;
use super::spec::Pipeline;
use crate::clock;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::store::{BlockStatus, BlockUpdate, RunStatus};
use futures::FutureExt;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a running block can reach.
pub struct BlockContext {
    /// The platform (store, artifacts, events, project).
    pub platform: Platform,
    /// The run it belongs to.
    pub run_id: String,
    /// The pipeline being run.
    pub pipeline: Arc<Pipeline>,
    block: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl BlockContext {
    /// Add a line to the block's log (and to the process log).
    pub fn log(&self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!(run = %self.run_id, block = %self.block, "{line}");
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(line);
        }
    }

    /// The name of the running block.
    pub fn block_name(&self) -> &str {
        &self.block
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
    /// A block ended.
    Finished {
        /// Block name.
        block: String,
        /// Final status.
        status: BlockStatus,
        /// Time of the last attempt.
        elapsed: Duration,
        /// Error of the last attempt.
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

/// Run every block of `pipeline` for run `run_id` with `variables`.
pub async fn execute(
    platform: &Platform,
    pipeline: Arc<Pipeline>,
    run_id: &str,
    variables: &Map<String, Value>,
    lease_lost: &AtomicBool,
    progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<RunOutcome> {
    let configs = match pipeline.resolve_configs(variables) {
        Ok(configs) => configs,
        Err(e) => {
            return Ok(RunOutcome {
                status: RunStatus::Failed,
                error: Some(e.to_string()),
                summary: json!({}),
            })
        }
    };
    let mut outputs: HashMap<String, Output> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    let mut first_error = None;
    for (block, config) in pipeline.blocks.iter().zip(&configs) {
        if lease_lost.load(Ordering::SeqCst) {
            return Ok(RunOutcome {
                status: RunStatus::Failed,
                error: Some("stopped: another executor holds this run now".into()),
                summary: summarize(outputs.values()),
            });
        }
        let store = &platform.store;
        if block.upstream.iter().any(|u| failed.contains(u)) {
            failed.insert(block.name.clone());
            store
                .update_block(
                    run_id,
                    &block.name,
                    &BlockUpdate {
                        status: BlockStatus::UpstreamFailed,
                        attempts: 0,
                        started_at: None,
                        ended_at: None,
                        error: None,
                        logs: vec![],
                        preview: None,
                    },
                )
                .await?;
            progress(&Progress::Finished {
                block: block.name.clone(),
                status: BlockStatus::UpstreamFailed,
                elapsed: Duration::ZERO,
                error: None,
            });
            continue;
        }
        let inputs: Vec<Output> = block
            .upstream
            .iter()
            .filter_map(|u| outputs.get(u).cloned())
            .collect();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let ctx = BlockContext {
            platform: platform.clone(),
            run_id: run_id.to_string(),
            pipeline: pipeline.clone(),
            block: block.name.clone(),
            logs: logs.clone(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started_at = clock::now();
            let started = Instant::now();
            progress(&Progress::Started {
                block: block.name.clone(),
                attempt,
            });
            let snapshot =
                |status, ended_at: Option<String>, error: Option<String>, preview| BlockUpdate {
                    status,
                    attempts: attempt as i64,
                    started_at: Some(started_at.clone()),
                    ended_at,
                    error,
                    logs: logs.lock().map(|l| l.clone()).unwrap_or_default(),
                    preview,
                };
            store
                .update_block(
                    run_id,
                    &block.name,
                    &snapshot(BlockStatus::Running, None, None, None),
                )
                .await?;
            let result = AssertUnwindSafe(block.kind.run(&ctx, config, inputs.clone()))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Error::internal(format!("block {} panicked", block.name))));
            let elapsed = started.elapsed();
            match result {
                Ok(output) => {
                    let update = snapshot(
                        BlockStatus::Success,
                        Some(clock::now()),
                        None,
                        Some(output.preview()),
                    );
                    store.update_block(run_id, &block.name, &update).await?;
                    progress(&Progress::Finished {
                        block: block.name.clone(),
                        status: BlockStatus::Success,
                        elapsed,
                        error: None,
                    });
                    outputs.insert(block.name.clone(), output);
                    break;
                }
                Err(e) if attempt <= block.retries => {
                    let delay = Duration::from_millis(
                        block
                            .retry_delay_ms
                            .saturating_mul(1 << (attempt - 1).min(16)),
                    );
                    ctx.log(format!(
                        "attempt {attempt} failed: {e}; retrying in {} ms",
                        delay.as_millis()
                    ));
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    let message = e.to_string();
                    ctx.log(format!("❌ {message}"));
                    store
                        .update_block(
                            run_id,
                            &block.name,
                            &snapshot(
                                BlockStatus::Failed,
                                Some(clock::now()),
                                Some(message.clone()),
                                None,
                            ),
                        )
                        .await?;
                    progress(&Progress::Finished {
                        block: block.name.clone(),
                        status: BlockStatus::Failed,
                        elapsed,
                        error: Some(message.clone()),
                    });
                    first_error.get_or_insert(format!("block {} failed: {message}", block.name));
                    failed.insert(block.name.clone());
                    break;
                }
            }
        }
    }
    let status = if failed.is_empty() {
        RunStatus::Success
    } else {
        RunStatus::Failed
    };
    Ok(RunOutcome {
        status,
        error: first_error,
        summary: summarize(outputs.values()),
    })
}

/// What a run produced, for the run record and the terminal.
fn summarize<'a>(outputs: impl Iterator<Item = &'a Output>) -> Value {
    let mut summary = Map::new();
    for output in outputs {
        match output {
            Output::Dataset(d) => {
                if let Some(record) = &d.record {
                    summary.insert("data_version".into(), json!(record.version));
                    summary.insert("data_hash".into(), json!(record.hash));
                }
            }
            Output::Trained(t) => {
                // Scalars only: importances stay with the version's metrics.
                let scalars: Map<String, Value> = t
                    .metrics
                    .iter()
                    .filter(|(_, v)| v.is_number())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                summary.insert("metrics".into(), Value::Object(scalars));
            }
            Output::Registered(r) => {
                summary.insert("model".into(), json!(r.version.model));
                summary.insert("model_version".into(), json!(r.version.label));
                summary.insert("model_version_number".into(), json!(r.version.version));
            }
            Output::Deployed(d) => {
                summary.insert(
                    "deployment".into(),
                    json!({"status": d.deployment.status, "reason": d.deployment.reason}),
                );
            }
        }
    }
    Value::Object(summary)
}
