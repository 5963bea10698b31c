//! HTTP handlers of the prediction service: /predict, /health, /ready, /reload, /model-info,
//! /lineage, /log-prediction.

use crate::state::ServingState;
use crate::swapper::Swapper;
use actix_web::{web, HttpResponse};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::serving::{parse_json_body, parse_request, ServedModel};
use ironmage_core::store::{to_json_text, PredictionRecord};
use ironmage_core::{clock, Error};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Mount the routes on an app whose data holds `Arc<ServingState>`.
pub fn configure(state: Arc<ServingState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = state.config.body_limit;
        ironmage_core::http::configure_extractors(cfg, limit);
        cfg.app_data(web::Data::from(state))
            .route("/predict", web::post().to(predict))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready))
            .route("/reload", web::post().to(reload))
            .route("/model-info", web::get().to(model_info))
            .route("/lineage", web::get().to(lineage))
            .route("/log-prediction", web::post().to(log_prediction))
            .route("/openapi.json", web::get().to(openapi))
            .default_service(web::to(ironmage_core::http::not_found));
    }
}

type State = web::Data<ServingState>;

fn serving(state: &ServingState) -> Result<Arc<ServedModel>, Error> {
    state.current.load_full().ok_or_else(|| {
        let reason = state.last_error.lock().ok().and_then(|e| e.clone());
        let mut message = format!(
            "no Production version of model {:?} is being served",
            state.config.model
        );
        if let Some(reason) = reason {
            message.push_str(&format!(" (last load error: {reason})"));
        }
        Error::unavailable(message)
    })
}

async fn predict(state: State, payload: web::Payload) -> ApiResult<HttpResponse> {
    let body = read_body(payload, state.config.body_limit).await?;
    let value = parse_json_body(&body)?;
    // One load of the Arc: the whole request is answered by this version even if a swap lands.
    let model = serving(&state)?;
    let request = parse_request(&model.bundle.schema, &value)?;
    let mut answers = Vec::with_capacity(request.rows.len());
    let time = clock::now();
    for (row, input) in request.rows.into_iter().zip(inputs(&value)) {
        let started = Instant::now();
        let score = model.score(row);
        let latency_us = started.elapsed().as_micros() as i64;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut answer = model.answer(score);
        answer.insert("model_version".into(), json!(model.version.label));
        answer.insert("model_version_number".into(), json!(model.version.version));
        answer.insert("prediction_time".into(), json!(time));
        answer.insert("prediction_id".into(), json!(id));
        let answer = Value::Object(answer);
        let record = PredictionRecord {
            id,
            model: model.version.model.clone(),
            version: Some(model.version.version),
            label: Some(model.version.label.clone()),
            source: "predict".into(),
            input: to_json_text(&input),
            output: to_json_text(&answer),
            latency_us,
            created_at: time.clone(),
        };
        if state.log.send(record).await.is_err() {
            tracing::error!("prediction log is closed; prediction not logged");
        }
        answers.push(answer);
    }
    state
        .served
        .fetch_add(answers.len() as u64, Ordering::Relaxed);
    Ok(HttpResponse::Ok().json(if request.batch {
        Value::Array(answers)
    } else {
        answers.swap_remove(0)
    }))
}

/// The request's objects, one per row, as logged inputs.
fn inputs(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

async fn health(state: State) -> HttpResponse {
    let model = state.current.load_full();
    let last_error = state.last_error.lock().ok().and_then(|e| e.clone());
    let status = match (&model, &last_error) {
        (Some(_), None) => "healthy",
        (Some(_), Some(_)) => "degraded",
        (None, _) => "no_model",
    };
    HttpResponse::Ok().json(json!({
        "status": status,
        "model": state.config.model,
        "version": model.as_ref().map(|m| m.version.label.clone()),
        "version_number": model.as_ref().map(|m| m.version.version),
        "stage": model.as_ref().map(|m| m.version.stage.as_str()),
        "loaded_at": model.as_ref().map(|m| m.loaded_at.clone()),
        "predictions_served": state.served.load(Ordering::Relaxed),
        "last_error": last_error,
    }))
}

async fn ready(state: State) -> ApiResult<HttpResponse> {
    let model = serving(&state)?;
    Ok(HttpResponse::Ok().json(json!({"ready": true, "version": model.version.label})))
}

async fn reload(state: State) -> HttpResponse {
    let outcome = Swapper::new(state.into_inner()).refresh(true).await;
    if outcome.is_error() {
        HttpResponse::ServiceUnavailable()
    } else {
        HttpResponse::Ok()
    }
    .json(outcome)
}

async fn model_info(state: State) -> ApiResult<HttpResponse> {
    let model = serving(&state)?;
    let v = &model.version;
    let lineage = state.sources.registry.lineage(&v.model, v.version).await?;
    Ok(HttpResponse::Ok().json(json!({
        "model": v.model,
        "version": v.label,
        "version_number": v.version,
        "stage": v.stage.as_str(),
        "loaded_at": model.loaded_at,
        "features": model.bundle.schema.features,
        "inputs": model.bundle.schema.request_fields().map(|(name, kind)| json!({"name": name, "type": kind})).collect::<Vec<_>>(),
        "task": model.bundle.schema.task,
        "classes": model.bundle.schema.classes,
        "metrics": v.metrics,
        "hyperparameters": v.hyperparameters,
        "artifacts": v.artifacts,
        "run_id": v.run_id,
        "lineage": lineage,
    })))
}

async fn lineage(state: State) -> ApiResult<HttpResponse> {
    let model = serving(&state)?;
    let lineage = state
        .sources
        .registry
        .lineage(&model.version.model, model.version.version)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"lineage": lineage})))
}

/// Persist a client's audit entry: an object with a numeric `prediction`, and optionally a
/// `probability` object of numbers; other fields (user ids, notes) are kept as given.
async fn log_prediction(state: State, payload: web::Payload) -> ApiResult<HttpResponse> {
    let body = read_body(payload, state.config.body_limit).await?;
    let value = parse_json_body(&body)?;
    let entry = check_audit_entry(value)?;
    let model = state.current.load_full();
    let id = uuid::Uuid::new_v4().simple().to_string();
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
