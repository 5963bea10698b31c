//! ironmage-core's integration tests: one test binary, one module per subject (one link instead of one per file).
//! Shared helpers are in `common` (and `cluster` where there is one).

mod common;
mod crash;
mod dynamic_blocks;
mod exporters;
mod orchestration;
mod pipeline_files;
mod pipelines_run;
mod python_blocks;
mod queue_conformance;
mod redis_queue;
mod registry_workflows;
mod store_conformance;
mod tracking_conformance;
mod tracking_writes;
