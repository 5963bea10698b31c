//! What every MLflow route shares: the error type and its body, reading bodies and queries,
//! required fields, numbers, paging, the empty answer, and tags as MLflow sends them. Below
//! every route module: they import this, it imports none of them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use ironmage_core::store::KeyValue;
use ironmage_core::{Error, ErrorCode, Platform};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub(super) type Data = web::Data<Platform>;

/// A handler's result: errors answer in MLflow's shape.
pub(super) type MlResult = Result<HttpResponse, MlflowError>;

/// An error answered as MLflow does: `{error_code, message}` with MLflow's status.
#[derive(Debug)]
pub struct MlflowError(Error);

impl From<Error> for MlflowError {
    fn from(e: Error) -> Self {
        MlflowError(e)
    }
}

impl From<ironmage_core::http::ApiError> for MlflowError {
    fn from(e: ironmage_core::http::ApiError) -> Self {
        MlflowError(e.0)
    }
}

impl std::fmt::Display for MlflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl MlflowError {
    fn code(&self) -> (StatusCode, &'static str) {
        match self.0.code {
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
            ErrorCode::AlreadyExists => (StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS"),
            ErrorCode::Conflict => (StatusCode::BAD_REQUEST, "INVALID_STATE"),
            ErrorCode::InvalidInput | ErrorCode::PayloadTooLarge => {
                (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE")
            }
            ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE"),
            ErrorCode::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }
}

impl ResponseError for MlflowError {
    fn status_code(&self) -> StatusCode {
        self.code().0
    }

    fn error_response(&self) -> HttpResponse {
        if !self.0.code.is_user_error() {
            tracing::error!(error = %self.0, "mlflow request failed");
        }
        // MLflow's messages stand alone; the field is only named when the message lacks it.
        let message = match &self.0.field {
            Some(f) if !self.0.message.contains(f.as_str()) => self.0.to_string(),
            _ => self.0.message.clone(),
        };
        HttpResponse::build(self.status_code())
            .json(serde_json::json!({"error_code": self.code().1, "message": message}))
    }
}

/// Parse a JSON body into `T`; a wrong or missing field is named in the message.
pub(super) async fn body<T: DeserializeOwned>(payload: web::Payload) -> Result<T, MlflowError> {
    let bytes = ironmage_core::http::read_body(payload, crate::extract::BODY_LIMIT).await?;
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &bytes[..]
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let message = match inner
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(field) => format!("Missing value for required parameter '{field}'"),
            None if path == "." => format!("Invalid JSON body: {inner}"),
            None => format!("Invalid value for parameter '{path}': {inner}"),
        };
        MlflowError(Error::invalid(message))
    })
}

/// Parse the query string into `T`.
pub(super) fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, MlflowError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| MlflowError(Error::invalid(format!("Invalid query parameters: {e}"))))
}

/// A required string parameter.
pub(super) fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, MlflowError> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(MlflowError(Error::invalid(format!(
            "Missing value for required parameter '{name}'"
        )))),
    }
}

/// Parse an id or version sent as a decimal string.
pub(super) fn number(value: &str, name: &str) -> Result<i64, MlflowError> {
    value.trim().parse().map_err(|_| {
        MlflowError(Error::invalid(format!(
            "Invalid value '{value}' for parameter '{name}': expected an integer"
        )))
    })
}

/// The page token is the offset of the next page, as decimal text.
pub(super) fn page(
    token: Option<&str>,
    max_results: Option<i64>,
    default: i64,
) -> Result<(i64, i64), MlflowError> {
    let offset = match token {
        None | Some("") => 0,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| MlflowError(Error::invalid(format!("Invalid page token '{t}'"))))?,
    };
    let limit = max_results.unwrap_or(default);
    if !(1..=50_000).contains(&limit) {
        return Err(MlflowError(Error::invalid(format!(
            "Invalid value {limit} for parameter 'max_results': must be between 1 and 50000"
        ))));
    }
    Ok((offset, limit))
}

/// `{}`: MLflow's empty reply.
pub(super) fn empty() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({}))
}

/// A tag as MLflow sends it.
#[derive(Deserialize)]
pub(super) struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

pub(super) fn tags(list: &[Tag]) -> Vec<KeyValue> {
    list.iter()
        .map(|t| KeyValue::new(&t.key, &t.value))
        .collect()
}
