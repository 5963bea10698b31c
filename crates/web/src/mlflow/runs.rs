//! `/api/2.0/mlflow/runs/...` and `/metrics/get-history`.

use super::common::{body, empty, number, page, query, required, Data, MlResult, MlflowError};
use super::common::{tags, Tag};
use super::json;
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::store::{now_ms, KeyValue, MetricPoint, NewTrackingRun, RunSearch, ViewType};
use ironmage_core::Error;
use serde::Deserialize;
use serde_json::{json as j, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/runs/create", web::post().to(create))
        .route("/runs/get", web::get().to(get))
        .route("/runs/update", web::post().to(update))
        .route("/runs/log-parameter", web::post().to(log_param))
        .route("/runs/log-metric", web::post().to(log_metric))
        .route("/runs/set-tag", web::post().to(set_tag))
        .route("/runs/delete-tag", web::post().to(delete_tag))
        .route("/runs/log-batch", web::post().to(log_batch))
        .route("/runs/log-inputs", web::post().to(log_inputs))
        .route("/runs/outputs", web::post().to(outputs))
        .route("/runs/search", web::post().to(search))
        .route("/runs/delete", web::post().to(delete))
        .route("/runs/restore", web::post().to(restore))
        .route("/metrics/get-history", web::get().to(history));
}

/// MLflow clients send the run id as `run_id`, `run_uuid` or both.
#[derive(Deserialize, Default)]
struct RunRef {
    run_id: Option<String>,
    run_uuid: Option<String>,
}

impl RunRef {
    fn id(&self) -> Result<&str, MlflowError> {
        match (self.run_id.as_deref(), self.run_uuid.as_deref()) {
            (Some(id), _) | (None, Some(id)) if !id.is_empty() => Ok(id),
            _ => required(&None, "run_id"),
        }
    }
}

#[derive(Deserialize)]
struct Create {
    experiment_id: Option<String>,
    #[serde(default)]
    user_id: String,
    run_name: Option<String>,
    start_time: Option<i64>,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn create(platform: Data, payload: web::Payload) -> MlResult {
    let b: Create = body(payload).await?;
    let experiment_id = match b.experiment_id.as_deref() {
        None | Some("") => 0,
        Some(id) => number(id, "experiment_id")?,
    };
    let info = platform
        .tracking
        .create_tracking_run(NewTrackingRun {
            id: None,
            experiment_id,
            name: b.run_name,
            user_id: b.user_id,
            start_time: b.start_time.unwrap_or_else(now_ms),
            tags: tags(&b.tags),
        })
        .await?;
    let run = platform.tracking.tracking_run(&info.id).await?;
    Ok(HttpResponse::Ok().json(j!({"run": json::run(&run)})))
}

async fn get(platform: Data, req: HttpRequest) -> MlResult {
    let r: RunRef = query(&req)?;
    let run = platform.tracking.tracking_run(r.id()?).await?;
    Ok(HttpResponse::Ok().json(j!({"run": json::run(&run)})))
}

#[derive(Deserialize)]
struct Update {
    #[serde(flatten)]
    run: RunRef,
    status: Option<String>,
    end_time: Option<i64>,
    run_name: Option<String>,
}

async fn update(platform: Data, payload: web::Payload) -> MlResult {
    let b: Update = body(payload).await?;
    let info = platform
        .tracking
        .update_tracking_run(
            b.run.id()?,
            b.status.as_deref(),
            b.end_time,
            b.run_name.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(j!({"run_info": json::run_info(&info)})))
}

#[derive(Deserialize)]
struct LogParam {
    #[serde(flatten)]
    run: RunRef,
    key: Option<String>,
    value: Option<Value>,
}

/// A param or tag value: MLflow sends strings; numbers are taken as their text.
fn text_value(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

async fn log_param(platform: Data, payload: web::Payload) -> MlResult {
    let b: LogParam = body(payload).await?;
    let kv = KeyValue::new(required(&b.key, "key")?, text_value(&b.value));
    platform
        .tracking
        .log_batch(b.run.id()?, &[], &[kv], &[])
        .await?;
    Ok(empty())
}

async fn set_tag(platform: Data, payload: web::Payload) -> MlResult {
    let b: LogParam = body(payload).await?;
    let kv = KeyValue::new(required(&b.key, "key")?, text_value(&b.value));
    platform
        .tracking
        .log_batch(b.run.id()?, &[], &[], &[kv])
        .await?;
    Ok(empty())
}

async fn delete_tag(platform: Data, payload: web::Payload) -> MlResult {
    let b: LogParam = body(payload).await?;
    platform
        .tracking
        .delete_run_tag(b.run.id()?, required(&b.key, "key")?)
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
struct Metric {
    key: Option<String>,
    value: Option<Value>,
    timestamp: Option<i64>,
    #[serde(default)]
    step: i64,
    model_id: Option<String>,
}

impl Metric {
    fn point(&self) -> Result<(MetricPoint, Option<String>), MlflowError> {
        let key = required(&self.key, "key")?.to_string();
        let value = match &self.value {
            Some(Value::Number(n)) => n.as_f64(),
            // protobuf-JSON spells special doubles as strings.
            Some(Value::String(s)) => s.parse::<f64>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            MlflowError::from(Error::invalid(format!(
                "Missing or non-numeric value for metric '{key}'"
            )))
        })?;
        Ok((
            MetricPoint {
                key,
                value,
                timestamp: self.timestamp.unwrap_or_else(now_ms),
                step: self.step,
            },
            self.model_id.clone().filter(|m| !m.is_empty()),
        ))
    }
}

#[derive(Deserialize)]
struct LogMetric {
    #[serde(flatten)]
    run: RunRef,
    #[serde(flatten)]
    metric: Metric,
}

async fn log_metric(platform: Data, payload: web::Payload) -> MlResult {
    let b: LogMetric = body(payload).await?;
    let point = b.metric.point()?;
    platform
        .tracking
        .log_batch(b.run.id()?, &[point], &[], &[])
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
struct LogBatch {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    metrics: Vec<Metric>,
    #[serde(default)]
    params: Vec<Tag>,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn log_batch(platform: Data, payload: web::Payload) -> MlResult {
    let b: LogBatch = body(payload).await?;
    let metrics = b
        .metrics
        .iter()
        .map(Metric::point)
        .collect::<Result<Vec<_>, _>>()?;
    platform
        .tracking
        .log_batch(b.run.id()?, &metrics, &tags(&b.params), &tags(&b.tags))
        .await?;
    Ok(empty())
}

async fn log_inputs(platform: Data, payload: web::Payload) -> MlResult {
    // Dataset inputs are accepted for compatibility but not stored (ironmage records its own
    // data versions); the run must exist.
    let b: RunRef = body(payload).await?;
    platform.tracking.tracking_run_info(b.id()?).await?;
    Ok(empty())
}

#[derive(Deserialize)]
struct ModelOutput {
    model_id: String,
    #[serde(default)]
    step: i64,
}

#[derive(Deserialize)]
struct Outputs {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    models: Vec<ModelOutput>,
}

async fn outputs(platform: Data, payload: web::Payload) -> MlResult {
    let b: Outputs = body(payload).await?;
    let models: Vec<_> = b
        .models
        .iter()
        .map(|m| (m.model_id.clone(), m.step))
        .collect();
    platform
        .tracking
        .log_run_outputs(b.run.id()?, &models)
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: String,
    run_view_type: Option<String>,
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<String>,
    page_token: Option<String>,
}

async fn search(platform: Data, payload: web::Payload) -> MlResult {
    let b: Search = body(payload).await?;
    let (offset, limit) = page(b.page_token.as_deref(), b.max_results, 1000)?;
    let experiment_ids = b
        .experiment_ids
        .iter()
        .map(|id| number(id, "experiment_ids"))
        .collect::<Result<Vec<_>, _>>()?;
    // One row more than asked tells whether there is a next page.
    let runs = platform
        .tracking
        .search_tracking_runs(&RunSearch {
            experiment_ids,
            filter: b.filter,
            view: ViewType::parse(b.run_view_type.as_deref(), "run_view_type")?,
            order_by: b.order_by,
            offset,
            limit: limit + 1,
        })
        .await?;
    let more = runs.len() as i64 > limit;
    let mut out = j!({});
    if !runs.is_empty() {
        out["runs"] = runs.iter().take(limit as usize).map(json::run).collect();
    }
    if more {
        out["next_page_token"] = j!((offset + limit).to_string());
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn delete(platform: Data, payload: web::Payload) -> MlResult {
    let b: RunRef = body(payload).await?;
    platform
        .tracking
        .set_tracking_run_lifecycle(b.id()?, "deleted")
        .await?;
    Ok(empty())
}

async fn restore(platform: Data, payload: web::Payload) -> MlResult {
    let b: RunRef = body(payload).await?;
    platform
        .tracking
        .set_tracking_run_lifecycle(b.id()?, "active")
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
struct History {
    // Not flattened: flattening breaks numbers in query strings.
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: Option<String>,
    max_results: Option<i64>,
    page_token: Option<String>,
}

async fn history(platform: Data, req: HttpRequest) -> MlResult {
    let q: History = query(&req)?;
    let key = required(&q.metric_key, "metric_key")?;
    let (offset, limit) = page(q.page_token.as_deref(), q.max_results, 25_000)?;
    let run = RunRef {
        run_id: q.run_id,
        run_uuid: q.run_uuid,
    };
    let points = platform.tracking.metric_history(run.id()?, key).await?;
    let mut out = j!({});
    let shown: Vec<_> = points
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(json::metric)
        .collect();
    if !shown.is_empty() {
        out["metrics"] = Value::Array(shown);
    }
    if ((offset + limit) as usize) < points.len() {
        out["next_page_token"] = j!((offset + limit).to_string());
    }
    Ok(HttpResponse::Ok().json(out))
}
