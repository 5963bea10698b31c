//! The OpenAPI documents and the routers agree, both ways:
//!
//! - every (method, path) of `crates/web/openapi.json` and `crates/prediction/openapi.json` is
//!   routed by a running stack (its answer is not the router's `no route for …` 404), and the
//!   status it answers with the documented examples is one the document lists;
//! - every `.route("…", web::<method>()…)` of `crates/web/src/{api,lib,orchestration,registry_api,tracking_api}.rs` and
//!   `crates/prediction/src/handlers.rs` is in the matching document.
//!
//! So a route added without docs, or docs of a route that does not exist, fails here.

use serde_json::Value;
use std::collections::BTreeSet;

const WEB_SPEC: &str = include_str!("../../../web/openapi.json");
const PREDICTION_SPEC: &str = include_str!("../../../prediction/openapi.json");
const WEB_API_SRC: &str = include_str!("../../../web/src/api.rs");
const WEB_LIB_SRC: &str = include_str!("../../../web/src/lib.rs");
const WEB_ORCHESTRATION_SRC: &str = include_str!("../../../web/src/orchestration.rs");
const WEB_REGISTRY_SRC: &str = include_str!("../../../web/src/registry_api.rs");
const WEB_TRACKING_SRC: &str = include_str!("../../../web/src/tracking_api.rs");
const PREDICTION_SRC: &str = include_str!("../../../prediction/src/handlers.rs");

/// The HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

type Route = (String, String);

fn spec(text: &str, file: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"))
}

/// The (METHOD, path) pairs of a source file's `.route("path", web::method()…)` calls, each
/// path prefixed with `prefix` (the scope the routes are mounted under).
fn source_routes(source: &str, prefix: &str, file: &str) -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for (i, _) in source.match_indices(".route(") {
        let call = &source[i + ".route(".len()..];
        let unparsed = || -> ! {
            panic!(
                "{file}: cannot read the route at {:?}: write it as .route(\"/path\", web::get()…)",
                &call[..call.len().min(60)]
            )
        };
        let Some(call) = call.trim_start().strip_prefix('"') else {
            unparsed()
        };
        let Some((path, rest)) = call.split_once('"') else {
            unparsed()
        };
        let Some(rest) = rest.trim_start().strip_prefix(',') else {
            unparsed()
        };
        let Some((method, _)) = rest
            .trim_start()
            .strip_prefix("web::")
            .and_then(|r| r.split_once('('))
        else {
            unparsed()
        };
        if !METHODS.contains(&method) {
            unparsed();
        }
        routes.insert((method.to_uppercase(), format!("{prefix}{path}")));
    }
    assert!(
        !routes.is_empty(),
        "{file}: no .route(…) found; did the router move?"
    );
    routes
}

/// The web role's routes: api.rs is mounted under /api, lib.rs at the root (the dashboard).
fn web_source_routes() -> BTreeSet<Route> {
    let compact: String = WEB_LIB_SRC.split_whitespace().collect();
    assert!(
        compact.contains("web::scope(\"/api\").configure(api::routes).configure(orchestration::routes).configure(tracking_api::routes)"),
        "crates/web/src/lib.rs no longer mounts api, orchestration and tracking_api routes under /api: update this test"
    );
    assert!(
        WEB_API_SRC.contains("crate::registry_api::routes(cfg);"),
        "crates/web/src/api.rs no longer mounts registry_api::routes: update this test"
    );
    let mut routes = source_routes(WEB_API_SRC, "/api", "crates/web/src/api.rs");
    for (source, file) in [
        (WEB_ORCHESTRATION_SRC, "crates/web/src/orchestration.rs"),
        (WEB_REGISTRY_SRC, "crates/web/src/registry_api.rs"),
        (WEB_TRACKING_SRC, "crates/web/src/tracking_api.rs"),
    ] {
        routes.extend(source_routes(source, "/api", file));
    }
    routes.extend(source_routes(WEB_LIB_SRC, "", "crates/web/src/lib.rs"));
    routes
}

fn prediction_source_routes() -> BTreeSet<Route> {
    source_routes(PREDICTION_SRC, "", "crates/prediction/src/handlers.rs")
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
fn documents_are_openapi_3_0_with_resolvable_refs_and_unique_operation_ids() {
    for (text, file) in [
        (WEB_SPEC, "crates/web/openapi.json"),
        (PREDICTION_SPEC, "crates/prediction/openapi.json"),
    ] {
        let doc = spec(text, file);
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.0.")),
            "{file}: not an OpenAPI 3.0 document"
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

#[test]
fn every_route_in_the_source_is_documented() {
    for (routes, text, file) in [
        (web_source_routes(), WEB_SPEC, "crates/web/openapi.json"),
        (
            prediction_source_routes(),
            PREDICTION_SPEC,
            "crates/prediction/openapi.json",
        ),
    ] {
        let documented = spec_routes(&spec(text, file));
        let missing: Vec<String> = routes
            .difference(&documented)
            .map(|(m, p)| format!("{m} {p}"))
            .collect();
        assert!(
            missing.is_empty(),
            "routes missing from {file}: {missing:?}"
        );
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
