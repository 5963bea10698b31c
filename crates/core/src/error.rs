//! One error type for the whole core, with a stable machine-readable code per kind.
//!
//! Callers at the edges (HTTP, CLI) map [`ErrorCode`] to a status or an exit code in one place;
//! user errors carry a message that names the field or object at fault.

use std::fmt;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stable, snake_case classification of an error, shared by every transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input was well-formed but a value is wrong (bad field, bad name, bad config).
    InvalidInput,
    /// The named object does not exist.
    NotFound,
    /// The request conflicts with the current state (illegal transition, a pending request).
    Conflict,
    /// An object with this name or key exists already (a unique name or id is taken).
    AlreadyExists,
    /// The body was larger than the configured limit.
    PayloadTooLarge,
    /// A dependency (model, store) is not ready to serve this request.
    Unavailable,
    /// A failure of ironmage or of its environment, not of the caller.
    Internal,
}

impl ErrorCode {
    /// Whether the caller caused the error (and can fix it by changing the request).
    pub fn is_user_error(self) -> bool {
        !matches!(self, ErrorCode::Internal | ErrorCode::Unavailable)
    }
}

/// An error with its code, a message, and optionally the field it concerns.
#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    /// What kind of error this is.
    pub code: ErrorCode,
    /// A lowercase message for people.
    pub message: String,
    /// The field (JSON path, config key) at fault, when there is one.
    pub field: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Error {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            field: None,
        }
    }
    /// A bad value supplied by the caller.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
    /// A bad value in a named field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message).with_field(field)
    }
    /// A missing object.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    /// A request that conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// The name or key is taken.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AlreadyExists, message)
    }
    /// Something that is not ready yet.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    /// A failure that is not the caller's.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    /// Attach the field this error is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// Prefix the message with context, keeping the code.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        // Keyed on SQLSTATE / SQLite extended codes so both backends classify alike.
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return Error::already_exists(format!("already exists: {}", db.message()));
            }
            if db.is_foreign_key_violation() {
                return Error::not_found(format!("refers to a missing object: {}", db.message()));
            }
        }
        if let sqlx::Error::RowNotFound = err {
            return Error::not_found("no such row");
        }
        if matches!(
            err,
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
        ) {
            return Error::unavailable(format!("metadata store unreachable: {err}"));
        }
        Error::internal(format!("metadata store: {err}"))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Error::internal(format!("migration failed: {err}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::internal(format!("io: {err}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::internal(format!("json: {err}"))
    }
}

impl From<crate::ml::MlError> for Error {
    fn from(err: crate::ml::MlError) -> Self {
        match err {
            crate::ml::MlError::InvalidHyperparameter { name, .. } => {
                Error::invalid(err.to_string()).with_field(name)
            }
            err => Error::invalid(err.to_string()),
        }
    }
}

impl Error {
    /// The HTTP status this error maps to; the one table every HTTP role uses.
    pub fn http_status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidInput => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::AlreadyExists => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// The JSON error body: `{message, code, type, field}` (see [`ErrorBody`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!(self.body())
    }

    /// The error as the HTTP roles answer it.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            message: self.to_string(),
            code: self.code,
            kind: match self.code {
                ErrorCode::Internal => ErrorKind::Internal,
                ErrorCode::Unavailable => ErrorKind::Unavailable,
                _ => ErrorKind::InvalidRequest,
            },
            field: self.field.clone(),
        }
    }

    /// A body over the size limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than the limit of {limit} bytes"),
        )
        .with_field("body")
    }
}

/// Every error of both services has this shape. `message` is for people and starts with the
/// field when there is one; `code` is stable and maps to the HTTP status (invalid_input 400,
/// not_found 404, conflict 409, already_exists 409, payload_too_large 413, unavailable 503,
/// internal 500); `type` is `invalid_request` when the caller can fix the request and
/// `internal` or `unavailable` otherwise; `field` names the JSON path, query or path parameter
/// at fault, or is null.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Error))]
pub struct ErrorBody {
    /// For people; starts with the field when there is one.
    #[cfg_attr(
        feature = "http",
        schema(example = "limit: must be between 1 and 1000")
    )]
    pub message: String,
    /// Stable; maps to the HTTP status.
    #[cfg_attr(feature = "http", schema(example = "invalid_input"))]
    pub code: ErrorCode,
    /// Whether the caller can fix the request.
    #[serde(rename = "type")]
    pub kind: ErrorKind,
    /// The JSON path, query or path parameter at fault.
    #[cfg_attr(feature = "http", schema(required, example = "limit"))]
    pub field: Option<String>,
}

/// Who can fix an error: the caller (`invalid_request`) or not (`internal`, `unavailable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request is at fault: not_found, invalid_input, conflict, already_exists, payload_too_large.
    InvalidRequest,
    /// A failure of ironmage or its environment.
    Internal,
    /// A dependency is not ready.
    Unavailable,
}
