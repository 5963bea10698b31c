//! What the REST handlers extract from a request, the same way everywhere: a JSON body (at
//! most [`BODY_LIMIT`], errors naming the field) and the acting user. Below every handler
//! module: they import this, it imports none of them.

use actix_web::{web, HttpRequest};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::serving::parse_json_body;
use ironmage_core::Error;
use serde::de::DeserializeOwned;

/// Largest JSON body the API accepts, in bytes.
pub const BODY_LIMIT: usize = 1 << 20;

/// Parse a JSON body into `T`; errors name the field (`reason`, `variables.seed`).
pub fn typed_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let value = parse_json_body(body)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names a missing field only in its message: lift it into the field.
        let missing = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        let field = match (path.as_str(), missing) {
            (".", Some(m)) => m,
            (".", None) => "body".into(),
            (p, Some(m)) => format!("{p}.{m}"),
            (p, None) => p.to_string(),
        };
        Error::invalid_field(field, inner)
    })
}

/// The header naming the user behind a request.
pub const USER_HEADER: &str = "X-Ironmage-User";

/// The acting user: header first, then the body's field, then `api`.
pub fn actor(req: &HttpRequest, from_body: Option<String>) -> Result<String, Error> {
    match req.headers().get(USER_HEADER) {
        Some(value) => value.to_str().map(str::to_string).map_err(|_| {
            Error::invalid_field(USER_HEADER, "the user name must be printable ASCII")
        }),
        None => Ok(from_body.unwrap_or_else(|| "api".into())),
    }
}

/// Read and parse a JSON body of at most [`BODY_LIMIT`] bytes into `T`.
pub async fn body<T: DeserializeOwned>(payload: web::Payload) -> ApiResult<T> {
    Ok(typed_body(&read_body(payload, BODY_LIMIT).await?)?)
}

/// The [`USER_HEADER`] as an OpenAPI parameter, for the operations whose handler calls
/// [`actor`]. Only its documentation is used: `actor` reads the header itself.
#[derive(utoipa::IntoParams)]
#[into_params(names("X-Ironmage-User"), parameter_in = Header)]
#[allow(dead_code)]
pub struct ActingUser(
    /// Who acts (recorded in the audit log); wins over the body's field.
    Option<String>,
);
