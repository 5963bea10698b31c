//! The OpenAPI documents and the running services agree: every (method, path) of
//! `crates/web/openapi.json` and `crates/prediction/openapi.json` is routed by a running stack
//! (its answer is not the router's `no route for …` 404), the status it answers to the
//! documented examples is one the document lists, and each service serves its file.
//!
//! The other direction (no route without docs) needs no check for the web role: its document
//! is generated from the handlers as they are mounted (`crates/web/tests/openapi.rs` keeps
//! the file equal to it). The prediction role's document is written by hand; a unit test of
//! its handlers checks that it documents exactly the routes they mount.

use serde_json::Value;
use std::collections::BTreeSet;

const WEB_SPEC: &str = include_str!("../../../web/openapi.json");
const PREDICTION_SPEC: &str = include_str!("../../../prediction/openapi.json");
/// The HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

type Route = (String, String);

fn spec(text: &str, file: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"))
}

/// Every (METHOD, path template) a document describes.
fn spec_routes(doc: &Value) -> BTreeSet<Route> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// The path with every `{param}` replaced by its documented example.
fn example_path(doc: &Value, path: &str, method: &str) -> String {
    let item = &doc["paths"][path];
    let params: Vec<&Value> = [&item["parameters"], &item[method]["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter(|p| p["in"] == "path")
        .collect();
    let mut out = path.to_string();
    while let Some(start) = out.find('{') {
        let end = out[start..]
            .find('}')
            .map(|e| start + e)
            .unwrap_or_else(|| panic!("{path}: unclosed {{"));
        let name = out[start + 1..end].to_string();
        let param = params
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{method} {path}: path parameter {name:?} is not declared"));
        let example = match param.get("example").or_else(|| param["schema"].get("example")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            other => panic!("{method} {path}: path parameter {name:?} needs a string or number example, has {other:?}"),
        };
        out.replace_range(start..=end, &example);
    }
    out
}

/// The documented example request body of an operation, if it has one.
fn example_body(operation: &Value) -> Option<String> {
    let media = operation
        .get("requestBody")?
        .get("content")?
        .get("application/json")?;
    let example = media.get("example").or_else(|| {
        media
            .get("examples")?
            .as_object()?
            .values()
            .next()?
            .get("value")
    })?;
    Some(example.to_string())
}

/// Every `$ref` of the document points at something that exists.
fn check_refs(doc: &Value, node: &Value, file: &str) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let pointer = target
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{file}: external $ref {target}"));
                assert!(
                    doc.pointer(pointer).is_some(),
                    "{file}: $ref {target} points nowhere"
                );
            }
            map.values().for_each(|v| check_refs(doc, v, file));
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(doc, v, file)),
        _ => {}
    }
}

#[test]
fn documents_are_openapi_3_with_resolvable_refs_and_unique_operation_ids() {
    for (text, file) in [
        (WEB_SPEC, "crates/web/openapi.json"),
        (PREDICTION_SPEC, "crates/prediction/openapi.json"),
    ] {
        let doc = spec(text, file);
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
            "{file}: not an OpenAPI 3 document"
        );
        check_refs(&doc, &doc, file);
        let mut ids = BTreeSet::new();
        for (method, path) in spec_routes(&doc) {
            let operation = &doc["paths"][&path][method.to_lowercase()];
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: {method} {path} has no operationId"));
            assert!(
                ids.insert(id.to_string()),
                "{file}: operationId {id} is used twice"
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{file}: {method} {path} documents no response"
            );
        }
    }
}

/// Call every documented operation with its examples and check it is routed and answers a
/// documented status.
async fn check_routed(http: &reqwest::Client, base: &str, doc: &Value, file: &str) {
    for (method, path) in spec_routes(doc) {
        let lower = method.to_lowercase();
        let operation = &doc["paths"][&path][&lower];
        let url = format!("{base}{}", example_path(doc, &path, &lower));
        let mut request = http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            &url,
        );
        if let Some(body) = example_body(operation) {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|b| b["message"].as_str().map(str::to_string))
            .unwrap_or_default();
        assert!(
            !(status == 404 && message.starts_with("no route for")),
            "{file} documents {method} {path}, but the service has no such route: {text}"
        );
        let documented = operation["responses"].get(status.to_string()).is_some()
            || operation["responses"].get("default").is_some();
        assert!(
            documented,
            "{file}: {method} {path} answered {status}, which it does not document: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_routed() {
    let t = crate::common::TestStack::start().await;
    let (web, predict) = (t.web.clone(), t.predict.clone());
    let http = reqwest::Client::new();

    let web_doc = spec(WEB_SPEC, "crates/web/openapi.json");
    let prediction_doc = spec(PREDICTION_SPEC, "crates/prediction/openapi.json");
    check_routed(&http, &web, &web_doc, "crates/web/openapi.json").await;
    check_routed(
        &http,
        &predict,
        &prediction_doc,
        "crates/prediction/openapi.json",
    )
    .await;

    // The documents the services serve are these files.
    for (url, doc) in [
        (format!("{web}/api/openapi.json"), &web_doc),
        (format!("{predict}/openapi.json"), &prediction_doc),
    ] {
        let served: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            &served, doc,
            "{url} does not serve the document in the repository"
        );
    }

    // The check above would be vacuous if unknown routes did not answer "no route for".
    let (status, body) = {
        let r = http
            .get(format!("{web}/api/no-such-route"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("no route for"),
        "{body}"
    );

    t.stack.stop().await;
}
