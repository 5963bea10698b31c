//! Python block runners: long-lived Python processes that run Mage-style block files
//! (`runner.py`, embedded in the binary). `runner` is one process and its protocol; `runners`
//! the runners of one pipeline run, started on demand and reused by its Python blocks.

mod runner;
mod runners;

pub use runner::{BlockRequest, Finished, ReturnedModel};
pub use runners::PythonRunners;
