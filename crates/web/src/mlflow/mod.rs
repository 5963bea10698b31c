//! MLflow's REST API (the part the official `mlflow` Python client uses), so that training
//! scripts written for MLflow run against ironmage unchanged: `/api/2.0/mlflow/...`, the
//! artifact proxy `/api/2.0/mlflow-artifacts/...` and `/api/3.0/mlflow/server-info`.
//!
//! These routes speak MLflow's dialect, not ironmage's: protobuf-style JSON (ids and versions
//! as strings, times as epoch milliseconds, empty lists left out) and MLflow's error body
//! `{error_code, message}`. The data behind them is ironmage's own tracking store and registry.
//! Not in `openapi.json` (this is MLflow's API); see docs/mlflow.md.

mod artifacts;
mod common;
mod experiments;
mod filter;
mod json;
mod models;
mod registry;
mod runs;
mod server;
mod versions;

use actix_web::web;

/// Mount the MLflow routes. Call before mounting `/api`, so that scope does not shadow them.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/2.0/mlflow")
            .configure(experiments::routes)
            .configure(runs::routes)
            .configure(models::routes)
            .configure(registry::routes)
            .configure(versions::routes),
    )
    .service(web::scope("/api/2.0/mlflow-artifacts").configure(artifacts::routes))
    .service(web::scope("/api/3.0/mlflow").configure(server::server_info_routes))
    .configure(server::root_routes);
}
