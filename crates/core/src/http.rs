//! Actix glue shared by the HTTP roles (feature `http`): one error response shape, and a body
//! reader with a size limit whose errors take that shape too.

use crate::error::{Error, ErrorCode};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// An [`Error`] as an HTTP response: its status from [`Error::http_status`], body from
/// [`Error::to_json`].
#[derive(Debug)]
pub struct ApiError(pub Error);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self.0.code {
            ErrorCode::Internal => tracing::error!(error = %self.0, "request failed"),
            // A state the service reports elsewhere (no model served, a store down): at most
            // one line a second, so a flood of requests is not a flood of log.
            ErrorCode::Unavailable => {
                let second = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                if LAST_UNAVAILABLE_LOG.swap(second, Ordering::Relaxed) != second {
                    tracing::warn!(error = %self.0, "request refused (repeats within the second are not logged)");
                }
            }
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(self.0.to_json())
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

/// The second an unavailable answer was last logged.
static LAST_UNAVAILABLE_LOG: AtomicU64 = AtomicU64::new(0);

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// Read a request body of at most `limit` bytes.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> ApiResult<web::Bytes> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| Error::invalid_field("body", format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::payload_too_large(limit).into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// JSON errors for actix's own extractors (query strings, paths, JSON bodies), in our shape.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, json_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(json_limit)
            .error_handler(|err, _| {
                let error = match &err {
                    actix_web::error::JsonPayloadError::OverflowKnownLength { limit, .. }
                    | actix_web::error::JsonPayloadError::Overflow { limit } => {
                        Error::payload_too_large(*limit)
                    }
                    other => Error::invalid_field("body", format!("invalid JSON body: {other}")),
                };
                ApiError(error).into()
            }),
    )
    .app_data(
        web::QueryConfig::default().error_handler(|err, _| {
            ApiError(Error::invalid_field("query", err.to_string())).into()
        }),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError(Error::invalid_field("path", err.to_string())).into()),
    );
}

/// A 404 in our shape for unknown routes.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    ApiError(Error::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
    .error_response()
}
