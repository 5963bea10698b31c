//! `crates/web/openapi.json` is the document the handlers generate (what
//! `GET /api/openapi.json` serves). Regenerate it after changing a handler or a body type:
//!
//!     UPDATE_OPENAPI=1 cargo nextest run -p ironmage-web openapi

use serde_json::Value;
use std::path::Path;

const REGENERATE: &str = "UPDATE_OPENAPI=1 cargo nextest run -p ironmage-web openapi";

#[test]
fn openapi_json_is_the_document_the_handlers_generate() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = ironmage_web::openapi_json();
    if let Err(e) = ironmage_core::openapi_file::check_committed(&generated, &committed, REGENERATE)
    {
        panic!("{e}");
    }
}

#[test]
fn every_operation_has_an_id_a_tag_a_summary_and_documents_its_errors() {
    let doc: Value = serde_json::from_str(&ironmage_web::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            operations += 1;
            let what = format!("{} {path}", method.to_uppercase());
            assert!(op["operationId"].is_string(), "{what}: no operationId");
            assert!(op["tags"][0].is_string(), "{what}: no tag");
            assert!(
                op["summary"].is_string(),
                "{what}: no summary (the doc comment's first line)"
            );
            if path.starts_with("/api/") && path != "/api/health" && path != "/api/openapi.json" {
                assert!(
                    op["responses"].get("500").is_some(),
                    "{what}: documents no 500 (every store call can fail)"
                );
            }
        }
    }
    // Every native route of the web role; MLflow's routes are not in this document.
    assert_eq!(operations, 53, "operations in the document");
    assert!(paths.keys().all(|p| p == "/" || p.starts_with("/api/")));
}
