//! What an MLflow tracking server answers about itself: `GET /health` (`OK`, what load
//! balancers and `mlflow` deployment scripts probe), `GET /version` and
//! `GET /api/3.0/mlflow/server-info` (which the 3.x client asks before uploading artifacts).

use actix_web::{web, HttpResponse};
use serde_json::json;

/// The MLflow release whose client this API is tested against (tests/mlflow); `GET /version`
/// answers it, as an MLflow server answers its own.
pub const MLFLOW_VERSION: &str = "3.17.2";

/// Routes at the root of the web role.
pub fn root_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/version", web::get().to(version));
}

/// Routes under `/api/3.0/mlflow`.
pub fn server_info_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/server-info", web::get().to(server_info));
}

/// Liveness only, as MLflow answers it: the native `/api/health` also checks the store.
async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("OK")
}

async fn version() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(MLFLOW_VERSION)
}

async fn server_info() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "store_type": "ironmage",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": {},
    }))
}
