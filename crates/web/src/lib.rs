//! The web role (port 6789): the REST API under `/api` and the dashboard at `/`.
//!
//! Handlers are thin: extract and validate, make one call on the core [`Platform`], shape the
//! answer. Runs are executed elsewhere (executors); triggering one answers `202` with its id.
//! Every native handler carries its OpenAPI operation; [`openapi_json`] is the document of
//! what [`configure`] mounts.

mod api;
mod examples;
mod extract;
mod mlflow;
mod openapi;
mod orchestration;
mod pipeline_edit;
mod registry_api;
mod respond;
mod tracking_api;

use actix_web::{get, web, HttpResponse};
use ironmage_core::Platform;
use openapi::Documented;

pub use extract::BODY_LIMIT;

/// Mount the API and the dashboard.
pub fn configure(platform: Platform) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        ironmage_core::http::configure_extractors(cfg, BODY_LIMIT);
        let document = mount(cfg);
        cfg.app_data(web::Data::new(platform))
            .app_data(web::Data::new(openapi::Served(openapi::render(&document))))
            .default_service(web::to(ironmage_core::http::not_found));
    }
}

/// The OpenAPI document (JSON text) of the routes [`configure`] mounts: what
/// `GET /api/openapi.json` serves and `crates/web/openapi.json` holds.
pub fn openapi_json() -> String {
    let mut document = None;
    // The same mounting as serving, on an app that is never started.
    let _ = actix_web::App::new().configure(|cfg| document = Some(mount(cfg)));
    openapi::render(&document.expect("App::configure runs its function at once"))
}

/// Mount every route and return the document of the native ones.
fn mount(cfg: &mut web::ServiceConfig) -> utoipa::openapi::OpenApi {
    let mut routes = Documented::new(cfg);
    routes
        .service(dashboard)
        // MLflow's API first: the /api scope would otherwise take its paths.
        .undocumented(mlflow::routes)
        .service(
            utoipa_actix_web::scope("/api")
                .configure(api::routes)
                .configure(pipeline_edit::routes)
                .configure(orchestration::routes)
                .configure(tracking_api::routes),
        );
    routes.finish()
}

/// The dashboard (one HTML page that reads this API)
#[utoipa::path(
    tag = "dashboard",
    operation_id = "dashboard",
    responses((status = 200, description = "HTML page.", content_type = "text/html", body = String))
)]
#[get("/")]
async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(include_str!("../assets/dashboard.html"))
}
