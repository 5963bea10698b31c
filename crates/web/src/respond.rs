//! How handlers answer with a typed body whose keys must stay sorted.
//!
//! Bodies that used to be built with `json!` had their keys sorted at every level (a
//! `serde_json::Value` object is a sorted map), nested records included. Their typed
//! replacements (which the OpenAPI document describes) go through a `Value` too, so not a byte
//! of those answers changed.

use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

/// Answer `body` as JSON with its keys sorted at every level.
pub fn sorted_json<T: Serialize>(response: &mut HttpResponseBuilder, body: &T) -> HttpResponse {
    // A struct of strings, numbers, lists and string-keyed maps: converting cannot fail.
    response.json(serde_json::json!(body))
}
