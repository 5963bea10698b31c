//! The ironmage binary's integration tests: one test binary, one module per subject (one link instead of one per file).
//! Shared helpers are in `common` (and `cluster` where there is one).

mod bad_input;
mod cli;
mod cluster;
mod common;
mod deploy_files;
mod deps;
mod e2e;
mod error_bodies;
mod mlflow_folders;
mod openapi;
mod orchestration_api;
mod python_models;
mod registry_api;
mod registry_cli;
mod serving_flavors;
mod serving_policy;
mod topology;
mod tracking_burst;
