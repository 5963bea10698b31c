//! The Python runners of one pipeline run. The first Python block of the run starts one; each
//! block takes an idle runner (or starts another when the run's blocks run side by side) and
//! gives it back when it ends, so the later blocks of the run skip Python's start and the
//! imports of pandas and pyarrow. A block dropped mid-way (timeout, cancel) drops its runner,
//! which kills it; the engine stops the idle ones when the run ends.

use super::runner::{BlockRequest, Finished, Runner};
use crate::environment::PythonEnvironment;
use crate::error::Result;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The runners of one run, and what they are started with.
#[derive(Debug)]
pub struct PythonRunners {
    interpreter: PathBuf,
    project_root: PathBuf,
    /// When the run started: Mage's `execution_date` for every block of the run.
    started_at: chrono::DateTime<chrono::Utc>,
    idle: Mutex<Vec<Runner>>,
    /// What the first runner reported: the run's Python environment.
    environment: OnceLock<PythonEnvironment>,
}

impl PythonRunners {
    /// No runner yet: the first Python block starts one with `interpreter` in `project_root`.
    pub fn new(interpreter: PathBuf, project_root: PathBuf) -> PythonRunners {
        PythonRunners {
            interpreter,
            project_root,
            started_at: chrono::Utc::now(),
            idle: Mutex::new(Vec::new()),
            environment: OnceLock::new(),
        }
    }

    /// When the run started (Mage's `execution_date`).
    pub fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.started_at
    }

    /// The interpreter and packages the run's Python blocks ran with; `None` before the first
    /// Python block (or in a run that has none).
    pub fn environment(&self) -> Option<PythonEnvironment> {
        self.environment.get().cloned()
    }

    /// Run a block file on an idle runner, or a new one; `log` gets what it prints, and a
    /// first line saying which runner ran it. The runner goes back to the idle ones unless it
    /// crashed; if this future is dropped, the runner is killed with it.
    pub async fn run(
        &self,
        request: &BlockRequest,
        log: &(dyn Fn(String) + Sync),
    ) -> Result<Finished> {
        let idle = self.idle.lock().ok().and_then(|mut idle| {
            // One that died while idle is dropped here, and another one is tried.
            std::iter::from_fn(|| idle.pop()).find_map(|mut r| r.alive().then_some(r))
        });
        let mut runner = match idle {
            Some(runner) => runner,
            None => {
                let runner = Runner::start(&self.interpreter, &self.project_root).await?;
                let _ = self.environment.set(runner.environment.clone());
                runner
            }
        };
        log(format!(
            "🐍 python runner pid {} ({}; {})",
            runner.pid(),
            if runner.blocks_run == 0 {
                "started for this block".to_string()
            } else {
                format!("reused, {} block(s) before", runner.blocks_run)
            },
            runner.versions
        ));
        let result = runner.run(request, log).await;
        if runner.usable {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(runner);
            }
        }
        result
    }

    /// Stop the idle runners (the run ended); a block still running keeps its own.
    pub async fn shutdown(&self) {
        let idle: Vec<Runner> = self
            .idle
            .lock()
            .map(|mut idle| idle.drain(..).collect())
            .unwrap_or_default();
        for runner in idle {
            runner.exit().await;
        }
    }
}
