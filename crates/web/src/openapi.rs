//! The web role's OpenAPI document, generated from the handlers.
//!
//! Every native route is mounted through [`Documented`], which takes the route's operation
//! (its `#[utoipa::path]`) into the document as it mounts it: a route cannot be served
//! without being documented. This module holds what is not any one handler's: `info`,
//! servers, tags, the shared `Internal` response, and the handler that serves the document.
//! The document is committed as `crates/web/openapi.json`; `tests/openapi.rs` fails when
//! the two differ.

use actix_web::dev::HttpServiceFactory;
use actix_web::{get, web, HttpResponse};
use ironmage_core::error::ErrorBody;
use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;
use utoipa_actix_web::OpenApiFactory;

/// An actix config that documents the services it mounts.
pub struct Documented<'c> {
    cfg: &'c mut web::ServiceConfig,
    document: OpenApi,
}

impl<'c> Documented<'c> {
    /// Mount on `cfg`, starting from the document's header ([`Header`]).
    pub fn new(cfg: &'c mut web::ServiceConfig) -> Self {
        Documented {
            cfg,
            document: Header::openapi(),
        }
    }

    /// Mount a handler (or a `utoipa_actix_web` scope of handlers) and document it.
    pub fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        self.document.paths.merge(factory.paths());
        let mut schemas = Vec::new();
        factory.schemas(&mut schemas);
        self.document
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(schemas);
        self.cfg.service(factory);
        self
    }

    /// Mount routes that are not this document's (MLflow's API, documented by MLflow).
    pub fn undocumented(&mut self, routes: impl FnOnce(&mut web::ServiceConfig)) -> &mut Self {
        routes(self.cfg);
        self
    }

    /// The document of everything mounted.
    pub fn finish(self) -> OpenApi {
        self.document
    }
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn render(document: &OpenApi) -> String {
    // Maps with string keys, strings and numbers: serializing cannot fail.
    let mut text = document
        .to_pretty_json()
        .expect("an OpenAPI document serializes to JSON");
    text.push('\n');
    text
}

/// The rendered document, as app data for [`serve`].
pub struct Served(pub String);

/// This document
#[utoipa::path(
    tag = "meta",
    operation_id = "webOpenapi",
    responses(
        (status = 200, description = "OpenAPI 3.1 document, generated from the handlers.", content_type = "application/json", body = Object),
    )
)]
#[get("/openapi.json")]
pub async fn serve(document: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}

/// A failure of ironmage or its environment (logged at ERROR).
#[derive(utoipa::ToResponse)]
#[response(
    description = "A failure of ironmage or its environment (logged at ERROR).",
    content_type = "application/json",
    examples(
        ("internal" = (summary = "The metadata store failed", value = json!({"code": "internal", "field": null, "message": "metadata store: error returned from database: (code: 1) no such table: transitions", "type": "internal"})))
    )
)]
// Only its documentation is used: the body is an `ErrorBody` built by `ApiError`.
#[allow(dead_code)]
pub struct Internal(ErrorBody);

/// What the document says besides its operations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "ironmage web API",
        description = "The web role (default port 6789): pipelines, runs, the model registry and lineage, under `/api`, and the dashboard at `/`. Every error has the body `{message, code, type, field}` (schema `Error`). Unknown routes, and known routes with another method, answer 404 with `no route for <METHOD> <path>`. Request bodies are limited to 1 MiB. Timestamps are RFC 3339 UTC with milliseconds.\n\nGenerated from the handlers (utoipa); see docs/api.md.",
        license(name = "Apache-2.0")
    ),
    servers((url = "http://localhost:6789", description = "ironmage up (embedded default)")),
    tags(
        (name = "health"),
        (name = "meta"),
        (name = "dashboard"),
        (name = "pipelines", description = "Pipeline files of the project folder."),
        (name = "runs", description = "Triggering and following runs."),
        (name = "registry", description = "Registered models, versions, stages, lineage."),
        (name = "triggers", description = "Cron, interval, API and file triggers."),
        (name = "tracking", description = "Experiments, tracking runs (pipeline runs and MLflow-client runs), metric history, registry metadata (descriptions, tags, aliases). MLflow's own API is documented in docs/mlflow.md, not here.")
    ),
    components(schemas(ErrorBody), responses(Internal))
)]
struct Header;
