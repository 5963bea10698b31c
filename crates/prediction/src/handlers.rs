//! HTTP handlers of the prediction service besides scoring (see `predict`): health and
//! readiness, the served models and their versions, reloads, lineage, the audit log and its
//! lookups.

use crate::catalog::{Served, Slot};
use crate::predict;
use crate::select;
use crate::state::ServingState;
use crate::swapper::{RefreshOutcome, Swapper};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpResponse, Responder, Route};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::serving::parse_json_body;
use ironmage_core::store::{to_json_text, PredictionQuery, PredictionRecord};
use ironmage_core::{clock, Error};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Mount the routes on an app whose data holds `Arc<ServingState>`.
pub fn configure(state: Arc<ServingState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = state.config.body_limit;
        ironmage_core::http::configure_extractors(cfg, limit);
        cfg.app_data(web::Data::from(state));
        for (_, path, route) in routes() {
            cfg.route(path, route);
        }
        cfg.default_service(web::to(ironmage_core::http::not_found));
    }
}

/// The routes, each once: mounting reads this list, and so does the test that holds
/// `crates/prediction/openapi.json` to it.
fn routes() -> Vec<(Method, &'static str, Route)> {
    use Method as M;
    vec![
        at(M::GET, "/", root),
        at(M::POST, "/predict", predict::predict),
        at(M::POST, "/invocations", predict::invocations),
        at(M::GET, "/health", health),
        at(M::GET, "/ping", ping),
        at(M::GET, "/ready", ready),
        at(M::POST, "/reload", reload),
        at(M::GET, "/model-info", model_info),
        at(M::GET, "/model/info", model_info),
        at(M::GET, "/lineage", lineage),
        at(M::POST, "/log-prediction", log_prediction),
        at(M::GET, "/models", models),
        at(M::GET, "/models/{name}", model),
        at(M::GET, "/models/{name}/versions", versions),
        at(M::GET, "/models/{name}/production", production),
        at(M::POST, "/models/{name}/predict", predict::predict_model),
        at(M::POST, "/models/{name}/reload", reload_model),
        at(M::GET, "/predictions", predictions),
        at(M::GET, "/predictions/{id}", prediction),
        at(M::GET, "/openapi.json", openapi),
    ]
}

/// One line of [`routes`]: the method and path, and the route that answers them.
fn at<F, Args>(method: Method, path: &'static str, handler: F) -> (Method, &'static str, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    (
        method.clone(),
        path,
        web::route().method(method).to(handler),
    )
}

type State = web::Data<ServingState>;

/// `GET /`: seed 002's basic health check.
async fn root(state: State) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "service": "ironmage-prediction",
        "models": state.catalog.all().iter().filter(|s| s.production.load().is_some()).count(),
    }))
}

/// `GET /ping`: what `mlflow models serve` answers on, for load balancers set up for it.
async fn ping() -> HttpResponse {
    HttpResponse::Ok().body("\n")
}

/// `GET /health`: the default model as before (status, version, stage as the registry has it
/// now), every served model, and the prediction log's counters.
async fn health(state: State) -> HttpResponse {
    let slot = state.catalog.get(&state.config.model);
    let model = slot.as_ref().and_then(|s| s.production.load_full());
    let last_error = slot.as_ref().and_then(|s| s.last_error());
    let log = state.log.stats();
    let status = match (&model, &last_error) {
        (Some(_), None) if !log.store_failing => "healthy",
        (Some(_), _) => "degraded",
        (None, _) => "no_model",
    };
    let models: Map<String, Value> = state
        .catalog
        .all()
        .iter()
        .map(|s| (s.model.clone(), slot_summary(s)))
        .collect();
    HttpResponse::Ok().json(json!({
        "status": status,
        "model": state.config.model,
        "version": model.as_ref().map(|m| m.version.label.clone()),
        "version_number": model.as_ref().map(|m| m.version.version),
        "stage": model.as_ref().map(|m| m.version.stage.as_str()),
        "loaded_at": model.as_ref().map(|m| m.loaded_at.clone()),
        "predictions_served": state.served.load(Ordering::Relaxed),
        "requests_failed": state.failed.load(Ordering::Relaxed),
        "last_error": last_error,
        "models": models,
        "prediction_log": log,
    }))
}

/// One model's line in `/health` and `/models`.
fn slot_summary(slot: &Slot) -> Value {
    let served = slot.production.load_full();
    json!({
        "version": served.as_ref().map(|m| m.version.version),
        "version_label": served.as_ref().map(|m| m.version.label.clone()),
        "stage": served.as_ref().map(|m| m.version.stage.as_str()),
        "flavor": served.as_ref().map(|m| m.info.flavor),
        "native": served.as_ref().map(|m| m.info.native),
        "memory_bytes": served.as_ref().map(|m| m.memory_bytes()),
        "loaded_at": served.as_ref().map(|m| m.loaded_at.clone()),
        "other_versions_loaded": slot.pinned().iter().map(|m| m.version.version).collect::<Vec<_>>(),
        "last_error": slot.last_error(),
    })
}

/// `GET /ready`: 200 while the default model is served or, when it has never had a version
/// to serve, while any model is; 503 with the reason otherwise (the default model's new
/// version failed under the refuse policy, nothing loaded yet). Answered from memory: it does
/// not depend on the metadata store.
async fn ready(state: State) -> ApiResult<HttpResponse> {
    let default = state
        .catalog
        .get(&state.config.model)
        .filter(|slot| slot.production.load().is_some() || slot.last_error().is_some());
    let served = match default {
        Some(slot) => select::production(&slot)?,
        None => state
            .catalog
            .all()
            .iter()
            .find_map(|s| s.production.load_full())
            .ok_or_else(|| Error::unavailable("no model is being served yet"))?,
    };
    Ok(HttpResponse::Ok().json(json!({
        "ready": true,
        "model": served.version.model,
        "version": served.version.label,
    })))
}

/// `POST /reload`: check every model now, retrying failed loads; answers with what happened
/// to the default model.
async fn reload(state: State) -> HttpResponse {
    let default = state.config.model.clone();
    let mut outcomes = Swapper::new(state.into_inner()).refresh_all(true).await;
    let outcome = outcomes
        .remove(&default)
        .unwrap_or(RefreshOutcome::NoModel {
            message: format!("model {default:?} is not registered or not served here"),
        });
    reload_answer(outcome)
}

/// `POST /models/{name}/reload`.
async fn reload_model(state: State, name: web::Path<String>) -> ApiResult<HttpResponse> {
    if !state.config.serves(&name) {
        return Err(
            Error::not_found(format!("model {:?} is not served here", name.as_str())).into(),
        );
    }
    Ok(reload_answer(
        Swapper::new(state.into_inner()).refresh(&name, true).await,
    ))
}

fn reload_answer(outcome: RefreshOutcome) -> HttpResponse {
    if outcome.is_error() {
        HttpResponse::ServiceUnavailable()
    } else {
        HttpResponse::Ok()
    }
    .json(outcome)
}

/// `GET /model-info` and seed 002's `GET /model/info`: the default model's served version.
async fn model_info(state: State) -> ApiResult<HttpResponse> {
    let slot = served_slot(&state, &state.config.model)?;
    let served = select::production(&slot)?;
    Ok(HttpResponse::Ok().json(describe(&state, &served).await?))
}

/// `GET /models/{name}`: a model's served version, as `/model-info` describes it.
async fn model(state: State, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let slot = served_slot(&state, &name)?;
    let served = select::production(&slot)?;
    Ok(HttpResponse::Ok().json(describe(&state, &served).await?))
}

/// `GET /models`: every served model.
async fn models(state: State) -> HttpResponse {
    let models: Vec<Value> = state
        .catalog
        .all()
        .iter()
        .map(|s| {
            let mut line = slot_summary(s);
            line["name"] = json!(s.model);
            line
        })
        .collect();
    HttpResponse::Ok().json(json!({"models": models}))
}

/// `GET /models/{name}/versions`: seed 003's version history, from the registry.
async fn versions(state: State, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let versions = state.sources.registry.versions(&name).await?;
    if versions.is_empty() {
        state.sources.registry.registered_model(&name).await?;
    }
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "label": v.label,
                "stage": v.stage.as_str(),
                "run_id": v.run_id,
                "created_at": v.created_at,
                "metrics": v.metrics,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"model_name": name.as_str(), "versions": versions})))
}

/// `GET /models/{name}/production`: the Production version, 404 when there is none.
async fn production(state: State, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let Some(v) = state.sources.registry.production_version(&name).await? else {
        return Err(
            Error::not_found(format!("No production model found for {:?}", name.as_str())).into(),
        );
    };
    let served = state
        .catalog
        .get(&name)
        .and_then(|s| s.production.load_full())
        .filter(|s| s.version.version == v.version);
    Ok(HttpResponse::Ok().json(json!({
        "model_name": v.model,
        "version": v.version,
        "label": v.label,
        "stage": v.stage.as_str(),
        "run_id": v.run_id,
        "metrics": v.metrics,
        "created_at": v.created_at,
        "served": served.is_some(),
    })))
}

fn served_slot(state: &ServingState, name: &str) -> Result<Arc<Slot>, Error> {
    state.catalog.get(name).ok_or_else(|| {
        Error::unavailable(format!(
            "no Production version of model {name:?} is being served"
        ))
    })
}

/// What `/model-info` says about a served version. `stage` and `model_stage` (seed 002's
/// name) are the stage the registry gives it now, which is not Production when the keep-last
/// policy serves an archived version.
async fn describe(state: &ServingState, served: &Served) -> Result<Value, Error> {
    let v = &served.version;
    let lineage = state.sources.registry.lineage(&v.model, v.version).await?;
    let input = served.scorer.input();
    Ok(json!({
        "model": v.model,
        "model_name": v.model,
        "version": v.label,
        "version_number": v.version,
        "stage": v.stage.as_str(),
        "model_stage": v.stage.as_str(),
        "loaded_at": served.loaded_at,
        "flavor": served.info.flavor,
        "native": served.info.native,
        "memory_bytes": served.memory_bytes(),
        "features": input.names().collect::<Vec<_>>(),
        "inputs": input.columns,
        "task": served.info.task,
        "classes": served.info.classes,
        // Asked now, not taken from the load: a Python model's stats move with every request.
        "details": served.scorer.describe().details,
        "metrics": v.metrics,
        "hyperparameters": v.hyperparameters,
        "artifacts": v.artifacts,
        "run_id": v.run_id,
        "lineage": lineage,
    }))
}

async fn lineage(state: State) -> ApiResult<HttpResponse> {
    let slot = served_slot(&state, &state.config.model)?;
    let model = select::production(&slot)?;
    let lineage = state
        .sources
        .registry
        .lineage(&model.version.model, model.version.version)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"lineage": lineage})))
}

/// `GET /predictions/{id}`: one logged prediction.
async fn prediction(state: State, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let record = state.sources.log.prediction(&id).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// `GET /predictions?model=&version=&since=&until=&limit=&offset=`: logged predictions, newest
/// first.
async fn predictions(state: State, query: web::Query<PredictionsQuery>) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid_field("limit", "must be between 1 and 1000").into());
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(Error::invalid_field("offset", "must not be negative").into());
    }
    for (field, value) in [("since", &q.since), ("until", &q.until)] {
        if let Some(v) = value {
            chrono::DateTime::parse_from_rfc3339(v).map_err(|e| {
                Error::invalid_field(
                    field,
                    format!("expected an RFC 3339 time such as 2026-12-07T10:00:00Z: {e}"),
                )
            })?;
        }
    }
    let found = state
        .sources
        .log
        .search_predictions(&PredictionQuery {
            model: q.model,
            version: q.version,
            since: q.since,
            until: q.until,
            limit,
            offset,
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"count": found.len(), "predictions": found})))
}

/// The query of `GET /predictions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictionsQuery {
    model: Option<String>,
    version: Option<i64>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// Persist a client's audit entry: an object with a numeric `prediction`, and optionally a
/// `probability` object of numbers; other fields (user ids, notes) are kept as given.
async fn log_prediction(state: State, payload: web::Payload) -> ApiResult<HttpResponse> {
    let body = read_body(payload, state.config.body_limit).await?;
    let value = parse_json_body(&body)?;
    let entry = check_audit_entry(value)?;
    let model = state
        .catalog
        .get(&state.config.model)
        .and_then(|s| s.production.load_full());
    let id = ironmage_core::store::new_prediction_id();
    let record = PredictionRecord {
        id: id.clone(),
        model: state.config.model.clone(),
        version: model.as_ref().map(|m| m.version.version),
        label: model.as_ref().map(|m| m.version.label.clone()),
        source: "log".into(),
        output: to_json_text(
            &json!({"prediction": entry["prediction"], "probability": entry.get("probability"), "risk_level": entry.get("risk_level")}),
        ),
        input: to_json_text(&Value::Object(entry)),
        latency_us: 0,
        created_at: clock::now(),
    };
    // Written before answering: the client is told "logged" only once it is.
    state
        .sources
        .log
        .insert_predictions(std::slice::from_ref(&record))
        .await?;
    Ok(HttpResponse::Created().json(json!({
        "status": "logged",
        "log_id": id,
        "model_version": record.label,
        "timestamp": record.created_at,
    })))
}

fn check_audit_entry(value: Value) -> Result<Map<String, Value>, Error> {
    let Value::Object(entry) = value else {
        return Err(Error::invalid_field("body", "expected a JSON object"));
    };
    match entry.get("prediction") {
        Some(Value::Number(_)) => {}
        Some(_) => return Err(Error::invalid_field("prediction", "expected a number")),
        None => return Err(Error::invalid_field("prediction", "missing field")),
    }
    if let Some(p) = entry.get("probability") {
        let Value::Object(classes) = p else {
            return Err(Error::invalid_field(
                "probability",
                "expected an object of class probabilities",
            ));
        };
        for (class, v) in classes {
            if !v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)) {
                return Err(Error::invalid_field(
                    format!("probability.{class}"),
                    "expected a number between 0 and 1",
                ));
            }
        }
    }
    if let Some(level) = entry.get("risk_level") {
        if !level.is_string() {
            return Err(Error::invalid_field("risk_level", "expected a string"));
        }
    }
    Ok(entry)
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("../openapi.json"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The document is written by hand, so this is what keeps it whole: the routes it
    /// documents are exactly the routes mounted. (That each documented route answers as
    /// documented is checked against a running service in the ironmage crate's tests.)
    #[test]
    fn openapi_json_documents_exactly_the_mounted_routes() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        let mounted: BTreeSet<(String, String)> = super::routes()
            .into_iter()
            .map(|(method, path, _)| (method.to_string(), path.to_string()))
            .collect();
        let missing: Vec<_> = mounted.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&mounted).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "crates/prediction/openapi.json: mounted but not documented {missing:?}; documented but not mounted {extra:?}"
        );
    }
}
