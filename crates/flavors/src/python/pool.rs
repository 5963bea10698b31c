//! The loop each worker runs: take a batch from the queue, predict it in the worker process,
//! answer the callers; replace the process when it dies or hangs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::error::PythonError;
use super::process::{heavy, Failure, Outcome, Setup, WorkerProcess, HEAVY_FRAME};
use super::protocol;
use super::queue::{Job, Queue};
use super::stats::Counters;

/// First pause before starting a failed worker again; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the workers share.
pub(crate) struct Pool {
    pub setup: Setup,
    pub queue: Queue,
    pub counters: Counters,
    /// The process id of each worker, 0 while it has none.
    pub pids: Vec<AtomicU32>,
}

/// Serves batches with worker `index`, starting from `process`, until the queue is closed and
/// empty; then asks the process to exit.
pub(crate) async fn run_worker(pool: Arc<Pool>, index: usize, process: WorkerProcess) {
    let mut current = Some(process);
    loop {
        let mut process = match current.take() {
            Some(process) => process,
            None => match restart(&pool, index).await {
                Some(process) => process,
                None => return,
            },
        };
        let config = &pool.setup.config;
        let counters = &pool.counters;
        // While idle, a process that dies (killed, out of memory) is replaced at once rather
        // than failing the next request.
        let idle_exit = tokio::select! {
            biased;
            status = process.wait_exit() => status,
            () = pool.queue.wait_for_work() => None,
        };
        if let Some(status) = idle_exit {
            process.describe_exit(status).await;
            lost(&pool, index);
            continue;
        }
        let batch = pool
            .queue
            .next_batch(config.max_batch_rows, config.batch_window, || {
                counters.busy_workers.load(Ordering::Relaxed) > 0
            })
            .await;
        let Some(batch) = batch else {
            pool.pids[index].store(0, Ordering::Relaxed);
            Counters::sub(&counters.live_workers, 1);
            process.exit().await;
            return;
        };
        if let Some(status) = process.exited() {
            process.describe_exit(status).await;
            lost(&pool, index);
            process = match restart(&pool, index).await {
                Some(process) => process,
                None => {
                    for job in batch {
                        job.answer(Err(PythonError::ShutDown));
                    }
                    return;
                }
            };
        }
        Counters::add(&counters.busy_workers, 1);
        let alive = serve(&pool, &mut process, batch).await;
        Counters::sub(&counters.busy_workers, 1);
        if alive {
            current = Some(process);
        } else {
            pool.pids[index].store(0, Ordering::Relaxed);
            Counters::sub(&counters.live_workers, 1);
        }
    }
}

/// Books a worker process that died while idle.
fn lost(pool: &Pool, index: usize) {
    pool.pids[index].store(0, Ordering::Relaxed);
    Counters::sub(&pool.counters.live_workers, 1);
    Counters::add(&pool.counters.worker_crashes, 1);
}

/// Starts a new process for worker `index`, retrying with a growing pause; `None` once the
/// queue is closed.
async fn restart(pool: &Pool, index: usize) -> Option<WorkerProcess> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        if pool.queue.is_closed() {
            return None;
        }
        match WorkerProcess::start(&pool.setup, index).await {
            Ok(started) => {
                let process = started.process;
                pool.pids[index].store(process.pid(), Ordering::Relaxed);
                Counters::add(&pool.counters.worker_restarts, 1);
                Counters::add(&pool.counters.live_workers, 1);
                tracing::info!(
                    worker = index,
                    pid = process.pid(),
                    "python worker restarted"
                );
                return Some(process);
            }
            Err(e) => {
                tracing::error!(worker = index, error = %e, retry_in = ?backoff, "python worker failed to restart");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Predicts a batch and answers its callers; false when the process is gone.
async fn serve(pool: &Pool, process: &mut WorkerProcess, batch: Vec<Job>) -> bool {
    let result = match call(pool, process, &batch).await {
        Ok(result) => result,
        Err(failure) => {
            fail_all(pool, batch, &failure);
            return false;
        }
    };
    match result {
        Ok(values) => {
            let mut values = values.into_iter();
            for job in batch {
                let n = job.rows.len();
                job.answer(Ok(values.by_ref().take(n).collect()));
            }
            true
        }
        Err(error) if batch.len() == 1 => {
            answer_error(pool, batch, error);
            true
        }
        Err(error @ PythonError::Protocol { .. }) => {
            answer_error(pool, batch, error);
            true
        }
        Err(error) => {
            // One caller's bad rows must not fail the others: each goes again alone.
            tracing::debug!(requests = batch.len(), error = %error, "merged batch failed, retrying each request alone");
            let mut jobs = batch.into_iter();
            while let Some(job) = jobs.next() {
                match call(pool, process, std::slice::from_ref(&job)).await {
                    Ok(Ok(values)) => job.answer(Ok(values)),
                    Ok(Err(error)) => answer_error(pool, vec![job], error),
                    Err(failure) => {
                        fail_all(pool, std::iter::once(job).chain(jobs).collect(), &failure);
                        return false;
                    }
                }
            }
            true
        }
    }
}

/// One call of the model on the jobs' rows merged: the values (one per row), or the error the
/// worker reported; `Err` when the process is gone.
async fn call(
    pool: &Pool,
    process: &mut WorkerProcess,
    jobs: &[Job],
) -> Result<Result<Vec<Value>, PythonError>, Failure> {
    let rows: usize = jobs.iter().map(|j| j.rows.len()).sum();
    let groups: Vec<&[Vec<Value>]> = jobs.iter().map(|j| j.rows.as_slice()).collect();
    let columns = &jobs[0].columns;
    // A cell is about 20 bytes of JSON: this many are a heavy frame.
    let cells = rows * columns.len();
    let frame = heavy(cells * 20 > HEAVY_FRAME, || {
        protocol::predict(columns, &groups)
    });
    let Some(frame) = frame else {
        return Ok(Err(PythonError::Predict {
            message: format!("{rows} rows are more than one request to the worker can carry"),
        }));
    };
    pool.counters.batch(rows as u64);
    let outcome = process
        .predict(&frame, pool.setup.config.predict_timeout)
        .await?;
    Ok(match outcome {
        Outcome::Values(values) if values.len() == rows => Ok(values),
        Outcome::Values(values) => Err(PythonError::protocol(format!(
            "{} values for {rows} rows",
            values.len()
        ))),
        Outcome::Error {
            kind,
            message,
            traceback,
        } => {
            if let Some(traceback) = traceback {
                tracing::debug!(%kind, %traceback, "python model error");
            }
            Err(match kind.as_str() {
                "predict" => PythonError::Predict { message },
                "output" => PythonError::Output { message },
                _ => PythonError::protocol(message),
            })
        }
    })
}

/// Answers each job with `error` (the last one gets it as is, the others a copy).
fn answer_error(pool: &Pool, mut jobs: Vec<Job>, error: PythonError) {
    if error.is_model_error() {
        Counters::add(&pool.counters.model_errors, jobs.len() as u64);
    }
    let Some(last) = jobs.pop() else { return };
    for job in jobs {
        job.answer(Err(copy(&error)));
    }
    last.answer(Err(error));
}

/// Answers every job of a batch whose process died or hung.
fn fail_all(pool: &Pool, jobs: Vec<Job>, failure: &Failure) {
    let counters = &pool.counters;
    match failure {
        Failure::TimedOut => Counters::add(&counters.timeouts, 1),
        Failure::Crashed(_) | Failure::Protocol(_) => Counters::add(&counters.worker_crashes, 1),
    }
    for job in jobs {
        job.answer(Err(match failure {
            Failure::Crashed(message) => PythonError::WorkerCrashed {
                message: message.clone(),
            },
            Failure::TimedOut => PythonError::Timeout,
            Failure::Protocol(message) => PythonError::protocol(message.clone()),
        }));
    }
}

/// The same error for another caller (`PythonError` holds an `io::Error`, so it is not `Clone`).
fn copy(error: &PythonError) -> PythonError {
    match error {
        PythonError::Predict { message } => PythonError::Predict {
            message: message.clone(),
        },
        PythonError::Output { message } => PythonError::Output {
            message: message.clone(),
        },
        PythonError::WorkerCrashed { message } => PythonError::WorkerCrashed {
            message: message.clone(),
        },
        PythonError::Timeout => PythonError::Timeout,
        other => PythonError::protocol(other.to_string()),
    }
}
