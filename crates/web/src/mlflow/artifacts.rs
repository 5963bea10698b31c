//! The artifact proxy `/api/2.0/mlflow-artifacts/artifacts/...` over ironmage's
//! content-addressed artifact store.

use super::common::{query, Data, MlResult};
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::http::read_body;
use ironmage_core::Error;
use serde::Deserialize;
use serde_json::json;

/// Largest artifact file accepted in one PUT, in bytes.
pub const ARTIFACT_LIMIT: usize = 1 << 30;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/artifacts", web::get().to(list))
        .route("/artifacts/{path:.*}", web::put().to(upload))
        .route("/artifacts/{path:.*}", web::get().to(download));
}

/// A relative path of non-empty segments, without `.` or `..`.
fn clean(path: &str) -> Result<String, Error> {
    let trimmed = path.trim_matches('/');
    let ok = !trimmed.is_empty()
        && trimmed
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(Error::invalid_field(
            "path",
            format!("Invalid artifact path: '{path}'"),
        ))
    }
}

async fn upload(platform: Data, path: web::Path<String>, payload: web::Payload) -> MlResult {
    let path = clean(&path)?;
    let bytes = read_body(payload, ARTIFACT_LIMIT).await?;
    let size = bytes.len() as i64;
    let store = platform.artifacts.clone();
    // Hashing and writing a large file is blocking work.
    let sha = tokio::task::spawn_blocking(move || store.put(&bytes))
        .await
        .map_err(|e| Error::internal(format!("artifact write crashed: {e}")))??;
    platform.tracking.index_artifact(&path, &sha, size).await?;
    Ok(HttpResponse::Ok().finish())
}

async fn download(platform: Data, path: web::Path<String>) -> MlResult {
    let path = clean(&path)?;
    let sha = platform
        .tracking
        .artifact_file(&path)
        .await?
        .ok_or_else(|| Error::not_found(format!("No such artifact: '{path}'")))?;
    let store = platform.artifacts.clone();
    let bytes = tokio::task::spawn_blocking(move || store.get(&sha))
        .await
        .map_err(|e| Error::internal(format!("artifact read crashed: {e}")))??;
    let file = path.rsplit('/').next().unwrap_or(&path).to_string();
    let text = [".txt", ".yaml", ".json", "MLmodel"]
        .iter()
        .any(|s| file.ends_with(s));
    Ok(HttpResponse::Ok()
        .content_type(if text {
            "text/plain"
        } else {
            "application/octet-stream"
        })
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename={file}"),
        ))
        .body(bytes))
}

#[derive(Deserialize)]
struct ListQuery {
    path: Option<String>,
}

/// List a folder: `{files: [...]}`; a file or a missing path lists as `{}` (the client tells
/// files from folders that way).
async fn list(platform: Data, req: HttpRequest) -> MlResult {
    let q: ListQuery = query(&req)?;
    let dir = match q.path.as_deref() {
        None | Some("") => return Ok(HttpResponse::Ok().json(json!({}))),
        Some(p) => clean(p)?,
    };
    let entries = platform.tracking.list_artifacts(&dir).await?;
    if entries.is_empty() {
        return Ok(HttpResponse::Ok().json(json!({})));
    }
    let files: Vec<_> = entries
        .iter()
        .map(|e| match e.file_size {
            Some(size) => json!({"path": e.path, "is_dir": false, "file_size": size}),
            None => json!({"path": e.path, "is_dir": true}),
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"files": files})))
}
