//! [`PythonModel`]: a pool of workers serving one MLflow model, fed by a queue that merges the
//! requests waiting at the same time into one call of the model.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::PythonConfig;
use super::error::PythonError;
use super::info::PythonInfo;
use super::pool::{self, Pool};
use super::process::{self, Setup, Started, WorkerProcess};
use super::queue::{Job, Queue};
use super::requirements;
use super::stats::{Counters, PythonStats};

/// Extra time `shutdown` gives the workers beyond one prediction before killing them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// An MLflow `python_function` model served by Python worker processes, each of which ran
/// `mlflow.pyfunc.load_model` on the model folder.
///
/// Concurrent [`PythonModel::predict`] calls queue up; each free worker takes what is queued
/// (same columns, up to `max_batch_rows` rows) as one DataFrame, so batches grow with the load
/// while a lone request is sent at once. A worker that dies or hangs is replaced in the
/// background, and only the requests it was serving fail. Clones share the pool; the workers
/// stop when the last clone is dropped (killed) or at [`PythonModel::shutdown`] (asked).
#[derive(Clone)]
pub struct PythonModel {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Arc<Pool>,
    info: PythonInfo,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl PythonModel {
    /// Starts `config.workers` workers on `model_dir` and waits until each has loaded the
    /// model (within `load_timeout`). Must be called within a tokio runtime.
    pub async fn start(config: PythonConfig, model_dir: &Path) -> Result<PythonModel, PythonError> {
        config.validate()?;
        let model_dir = process::check_model_dir(model_dir)?;
        let recorded = requirements::read(&model_dir);
        let setup = Setup {
            config,
            model_dir,
            recorded,
        };
        let workers = setup.config.workers;
        let results =
            futures::future::join_all((0..workers).map(|i| WorkerProcess::start(&setup, i))).await;
        let mut started = Vec::with_capacity(workers);
        let mut first_error = None;
        for result in results {
            match result {
                Ok(worker) => started.push(worker),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(error) = first_error {
            for mut worker in started {
                worker.process.kill().await;
            }
            return Err(error);
        }
        let info = info(&setup, &started);
        tracing::info!(
            model_dir = %setup.model_dir.display(),
            workers,
            python = %info.python_version,
            mlflow = info.mlflow_version.as_deref().unwrap_or("?"),
            loader = info.loader_module.as_deref().unwrap_or("?"),
            "python model loaded"
        );
        let pool = Arc::new(Pool {
            pids: started
                .iter()
                .map(|w| AtomicU32::new(w.process.pid()))
                .collect(),
            setup,
            queue: Queue::default(),
            counters: Counters::default(),
        });
        Counters::add(&pool.counters.live_workers, workers as u64);
        let tasks = started
            .into_iter()
            .enumerate()
            .map(|(i, worker)| tokio::spawn(pool::run_worker(pool.clone(), i, worker.process)))
            .collect();
        Ok(PythonModel {
            inner: Arc::new(Inner {
                pool,
                info,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    /// Predicts `rows` (each with one value per column, in `columns` order): one output value
    /// per row, in order. The values are cast to the model signature's column types where that
    /// loses nothing (an integer for a `double` column).
    pub async fn predict(
        &self,
        columns: Arc<[String]>,
        rows: Vec<Vec<Value>>,
    ) -> Result<Vec<Value>, PythonError> {
        check_table(&columns, &rows)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let pool = &self.inner.pool;
        let n_rows = rows.len() as u64;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            columns,
            rows,
            reply,
            enqueued: Instant::now(),
        };
        if let Err(e) = pool.queue.push(job) {
            if matches!(e, PythonError::Overloaded) {
                Counters::add(&pool.counters.overloaded, 1);
            }
            return Err(e);
        }
        Counters::add(&pool.counters.requests, 1);
        Counters::add(&pool.counters.rows, n_rows);
        // The workers answer every job they take, and time out hung predictions; this bound only
        // matters when no worker can be started at all.
        let config = &pool.setup.config;
        let limit = config.load_timeout + config.predict_timeout * 2;
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(PythonError::ShutDown),
            Err(_) => Err(PythonError::Timeout),
        }
    }

    /// The interpreter, MLflow, the model and its requirements.
    pub fn info(&self) -> PythonInfo {
        self.inner.info.clone()
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> PythonStats {
        let pool = &self.inner.pool;
        pool.counters.snapshot(pool.queue.len() as u64)
    }

    /// The process ids of the running workers (a restarting worker has none).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.inner
            .pool
            .pids
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .filter(|&p| p != 0)
            .collect()
    }

    /// Stops taking requests, lets the workers finish what is queued, then asks each to exit
    /// and waits for it (killing those that take longer than a prediction and a few seconds).
    /// Later calls of `predict` answer `ShutDown`.
    pub async fn shutdown(&self) {
        let pool = &self.inner.pool;
        pool.queue.close();
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = Instant::now() + pool.setup.config.predict_timeout + SHUTDOWN_GRACE;
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                // Dropping the aborted task kills its process.
                abort.abort();
            }
        }
        for job in pool.queue.drain() {
            job.answer(Err(PythonError::ShutDown));
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.pool.queue.close();
        let tasks = self.tasks.get_mut().unwrap_or_else(|e| e.into_inner());
        for task in tasks.drain(..) {
            // The task's future, and with it the worker's `Child` (kill_on_drop), is dropped.
            task.abort();
        }
    }
}

impl std::fmt::Debug for PythonModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonModel")
            .field("model_dir", &self.inner.pool.setup.model_dir)
            .field("workers", &self.inner.info.workers)
            .finish_non_exhaustive()
    }
}

/// Refuses rows that do not have one value per column, and repeated column names.
fn check_table(columns: &[String], rows: &[Vec<Value>]) -> Result<(), PythonError> {
    if let Some((i, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != columns.len())
    {
        return Err(PythonError::Predict {
            message: format!(
                "row {i} has {} values for {} columns",
                row.len(),
                columns.len()
            ),
        });
    }
    for (i, name) in columns.iter().enumerate() {
        if columns[..i].contains(name) {
            return Err(PythonError::Predict {
                message: format!("column `{name}` is given twice"),
            });
        }
    }
    Ok(())
}

fn info(setup: &Setup, started: &[Started]) -> PythonInfo {
    // Every worker runs the same interpreter on the same folder: the first one speaks for all.
    let first = &started[0];
    PythonInfo {
        interpreter: setup.config.interpreter.clone(),
        executable: first.hello.executable.clone().unwrap_or_default(),
        python_version: first.hello.python.clone().unwrap_or_default(),
        mlflow_version: first
            .loaded
            .mlflow
            .clone()
            .or_else(|| first.hello.mlflow.clone()),
        flavors: first.loaded.flavors.clone(),
        loader_module: first.loaded.loader_module.clone(),
        input_schema: first.loaded.input_schema.clone(),
        recorded_python: setup.recorded.python.clone(),
        requirements: first.requirements.clone(),
        workers: setup.config.workers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_shared_across_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<PythonModel>();
        send_sync::<PythonError>();
    }

    #[test]
    fn tables_need_one_value_per_column() {
        let columns = ["a".to_string(), "b".to_string()];
        check_table(&columns, &[vec![Value::Null, Value::Null]]).unwrap();
        let err = check_table(&columns, &[vec![Value::Null; 2], vec![Value::Null]]).unwrap_err();
        assert!(err.is_model_error());
        assert_eq!(
            err.to_string(),
            "the model could not predict on this input: row 1 has 1 values for 2 columns"
        );
        let twice = ["a".to_string(), "a".to_string()];
        assert!(check_table(&twice, &[]).is_err());
    }
}
