//! The web role (port 6789): the REST API under `/api` and the dashboard at `/`.
//!
//! Handlers are thin: extract and validate, make one call on the core [`Platform`], shape the
//! answer. Runs are executed elsewhere (executors); triggering one answers `202` with its id.

mod api;
mod extract;
mod mlflow;
mod orchestration;
mod registry_api;
mod tracking_api;

use actix_web::{web, HttpResponse};
use ironmage_core::Platform;

pub use extract::BODY_LIMIT;

/// Mount the API and the dashboard.
pub fn configure(platform: Platform) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        ironmage_core::http::configure_extractors(cfg, BODY_LIMIT);
        cfg.app_data(web::Data::new(platform))
            .route("/", web::get().to(dashboard))
            // MLflow's API first: the /api scope would otherwise take its paths.
            .configure(mlflow::routes)
            .service(
                web::scope("/api")
                    .configure(api::routes)
                    .configure(orchestration::routes)
                    .configure(tracking_api::routes),
            )
            .default_service(web::to(ironmage_core::http::not_found));
    }
}

async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(include_str!("../assets/dashboard.html"))
}
