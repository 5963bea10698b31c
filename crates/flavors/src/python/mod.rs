//! Any MLflow `python_function` model, served by a pool of Python worker processes.
//!
//! Each worker is the configured interpreter running `worker.py` (embedded in the binary): it
//! loads the model folder with `mlflow.pyfunc.load_model` and answers predict requests over its
//! stdin and stdout. Requests that wait at the same time are merged into one DataFrame, so the
//! pool keeps the per-call cost of Python (and the model's vectorized code) off the rows.
//!
//! Layout, from the bottom: `config`, `error`, `info`, `stats` hold the public types;
//! `requirements` reads what the model folder recorded; `protocol` frames the messages;
//! `process` runs one worker; `queue` holds the waiting requests and forms batches; `pool` is
//! the loop of each worker; `model` is the public face.

mod config;
mod error;
mod info;
mod model;
mod pool;
mod process;
mod protocol;
mod queue;
mod requirements;
mod stats;

pub use config::{
    default_workers, PythonConfig, MAX_BATCH_VAR, PYTHON_VAR, STRICT_REQUIREMENTS_VAR, WORKERS_VAR,
};
pub use error::PythonError;
pub use info::{PythonInfo, Requirement, RequirementStatus};
pub use model::PythonModel;
pub use stats::PythonStats;
