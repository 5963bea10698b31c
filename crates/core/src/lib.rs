//! ironmage core: the domain and every mechanism the roles share.
//!
//! - [`store`]: the metadata store (runs, datasets, registry, predictions) on SQLite or PostgreSQL.
//! - [`artifacts`]: content-addressed files (models, scalers, dataset snapshots).
//! - [`queue`] and [`events`]: how work and change notices move between roles.
//! - [`pipeline`]: pipeline files, built-in blocks and the engine that runs them.
//! - [`ml`]: ironmage's learners, preprocessing and metrics (the `ironmage-ml` crate, re-exported).
//! - [`model`], [`serving`]: the model format and what scoring a request needs; [`pyfunc`]: the
//!   MLflow model folder written beside each version a pipeline registers.
//! - [`lineage`], [`dataset`], [`table`], [`synthetic`]: provenance, tables and fingerprints, demo data.
//! - Services, what the edges call: [`runs`] (pipelines and runs), [`registry`] (versions,
//!   stages, approvals), [`tracking`] (experiments, tracking runs), [`triggers`].
//! - [`object_store`]: an S3-compatible object store client (exporters write files there).
//! - [`memory`]: the resident memory of a process (of the loaded models).
//! - [`subprocess`]: frames, exit descriptions and process groups of the child processes
//!   ironmage talks to (Python block runners, pyfunc workers).
//! - [`platform`]: the services of one process, built over one store, queue and bus.
//!
//! Threading: everything here is async on tokio except CPU work (training, fingerprinting),
//! which runs on the blocking pool.
#![deny(missing_docs)]

pub mod artifacts;
pub mod batch_predict;
pub mod clock;
pub mod dataset;
pub mod environment;
pub mod error;
pub mod events;
#[cfg(feature = "http")]
pub mod http;
pub mod input_schema;
pub mod lineage;
pub mod memory;
pub mod model;
pub mod names;
pub mod object_store;
#[cfg(feature = "http")]
pub mod openapi_file;
pub mod pipeline;
pub mod platform;
pub mod pyfunc;
pub mod queue;
pub mod registry;
mod retry;
pub mod runs;
pub mod secrets;
pub mod serving;
pub mod store;
pub mod subprocess;
pub mod synthetic;
pub mod synthetic_tables;
pub mod table;
pub mod tracking;
pub mod triggers;
pub mod version_compare;

pub use error::{Error, ErrorCode, Result};
pub use ironmage_ml as ml;
pub use platform::{Platform, PlatformConfig};
