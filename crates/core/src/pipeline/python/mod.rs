//! Python block runners: long-lived Python processes that run Mage-style block files
//! (`runner.py`, embedded in the binary). `runner` is one process and its protocol; `runners`
//! the runners of one pipeline run, started on demand and reused by its Python blocks.

mod runner;
mod runners;

pub use runner::{BlockRequest, Finished, ReturnedModel};
pub use runners::PythonRunners;

use std::path::PathBuf;

/// The interpreter variable, shared with the pyfunc workers of the flavors crate.
pub const PYTHON_VAR: &str = "IRONMAGE_PYTHON";

/// The interpreter `IRONMAGE_PYTHON` names, `python3` when unset or empty.
pub fn interpreter_from_env() -> PathBuf {
    std::env::var_os(PYTHON_VAR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}
