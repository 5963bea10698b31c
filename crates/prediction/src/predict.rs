//! The scoring routes: `/predict` (the default model's Production version), `/invocations`
//! (MLflow's scoring protocol, same model) and `/models/{name}/predict` (any served model, any
//! version), each taking JSON or CSV. Every answered row is queued for the prediction log;
//! refused requests are counted and logged too.

use crate::catalog::Served;
use crate::select::{self, Selector};
use crate::state::ServingState;
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::batch_predict::{read_csv_batch, write_csv_batch};
use ironmage_core::http::{read_body, ApiError, ApiResult};
use ironmage_core::input_schema::InputSchema;
use ironmage_core::serving::parse_json_body;
use ironmage_core::store::{to_json_text, PredictionRecord};
use ironmage_core::table::steps::Cell;
use ironmage_core::{clock, Error, Result};
use ironmage_flavors::Prediction;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

type State = web::Data<ServingState>;

/// Columns a CSV answer adds to the input's.
const CSV_ADDED: [&str; 5] = [
    "model_name",
    "model_version",
    "prediction",
    "probability",
    "prediction_id",
];

/// `POST /predict`: the default model's Production version.
pub async fn predict(
    state: State,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let model = state.config.model.clone();
    guarded(&state, &model, async {
        let body = read_body(payload, state.config.body_limit).await?;
        // The default model's slot exists even before it is registered, so the answer says
        // that no Production version is served.
        let slot = state.catalog.slot(&model);
        if is_csv(&req) {
            let served = select::production(&slot)?;
            return answer_csv(&state, &served, &body).await;
        }
        let value = parse_json_body(&body)?;
        let served = select::production(&slot)?;
        let request = served.scorer.input().parse(&value)?;
        let answers = score(&state, &served, request.rows).await?;
        Ok(HttpResponse::Ok().json(one_or_many(answers, request.batch)))
    })
    .await
}

/// `POST /invocations`: MLflow's scoring protocol (`dataframe_split`, `dataframe_records`,
/// `instances`, `inputs`), answered as `mlflow models serve` does: `{"predictions": [...]}`.
pub async fn invocations(state: State, payload: web::Payload) -> ApiResult<HttpResponse> {
    let model = state.config.model.clone();
    guarded(&state, &model, async {
        let body = read_body(payload, state.config.body_limit).await?;
        let value = parse_json_body(&body)?;
        let served = select::production(&state.catalog.slot(&model))?;
        let request = served.scorer.input().parse(&value)?;
        let answers = score(&state, &served, request.rows).await?;
        let predictions: Vec<Value> = answers
            .into_iter()
            .map(|mut a| a.remove("prediction").unwrap_or(Value::Null))
            .collect();
        Ok(HttpResponse::Ok().json(json!({"predictions": predictions})))
    })
    .await
}

/// `POST /models/{name}/predict`: seed 003's route. The body is either the rows (any shape
/// `/predict` takes) or `{"data": rows, "use_staging": bool, "version": n, "stage": s,
/// "alias": a}`; the query may also say `?version=`, `?stage=` or `?alias=`.
pub async fn predict_model(
    state: State,
    req: HttpRequest,
    name: web::Path<String>,
    query: web::Query<SelectorQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let model = name.into_inner();
    guarded(&state, &model, async {
        let body = read_body(payload, state.config.body_limit).await?;
        if is_csv(&req) {
            let served = served(&state, &model, &query.selector()?).await?;
            return answer_csv(&state, &served, &body).await;
        }
        let value = parse_json_body(&body)?;
        let (rows, options) = split_envelope(value)?;
        // The body's selector wins; the query's applies when the body names none.
        let (from_body, from_query) = (options.selector()?, query.selector()?);
        let selector = if from_body == Selector::Production {
            from_query
        } else {
            from_body
        };
        let served = served(&state, &model, &selector).await?;
        let request = served.scorer.input().parse(&rows)?;
        let answers = score(&state, &served, request.rows).await?;
        let v = &served.version;
        let mut body = json!({
            "model_name": v.model,
            "version": v.version,
            "version_label": v.label,
            "stage": v.stage.as_str(),
            "status": "success",
        });
        if request.batch {
            body["count"] = json!(answers.len());
            body["predictions"] = Value::Array(answers.into_iter().map(Value::Object).collect());
        } else if let (Value::Object(out), Some(answer)) = (&mut body, answers.into_iter().next()) {
            out.extend(answer);
        }
        Ok(HttpResponse::Ok().json(body))
    })
    .await
}

/// Count and log a refused request; its error goes to the client as usual.
async fn guarded(
    state: &ServingState,
    model: &str,
    work: impl std::future::Future<Output = ApiResult<HttpResponse>>,
) -> ApiResult<HttpResponse> {
    let result = work.await;
    if let Err(ApiError(e)) = &result {
        state.failed.fetch_add(1, Ordering::Relaxed);
        state.log.push(PredictionRecord {
            id: ironmage_core::store::new_prediction_id(),
            model: model.to_string(),
            version: None,
            label: None,
            source: "failed".into(),
            input: to_json_text(&Value::Null),
            output: to_json_text(&e.to_json()),
            latency_us: 0,
            created_at: clock::now(),
        });
    }
    result
}

async fn served(state: &ServingState, model: &str, selector: &Selector) -> Result<Arc<Served>> {
    let slot = state.catalog.get(model).ok_or_else(|| {
        if state.config.serves(model) {
            Error::not_found(format!("model {model:?} is not registered (a model registered now is served within a poll interval)"))
        } else {
            Error::not_found(format!("model {model:?} is not served here (--models {})", state.config.models.join(",")))
        }
    })?;
    select::served(state, &slot, selector).await
}

/// Score rows with one loaded version, and queue each answer for the log.
pub async fn score(
    state: &ServingState,
    served: &Served,
    rows: Vec<Vec<Cell>>,
) -> Result<Vec<Map<String, Value>>> {
    Ok(score_rows(state, served, rows).await?.1)
}

/// Score rows and queue each answer for the log; the predictions and the answers.
pub async fn score_rows(
    state: &ServingState,
    served: &Served,
    rows: Vec<Vec<Cell>>,
) -> Result<(Vec<Prediction>, Vec<Map<String, Value>>)> {
    let inputs = logged_inputs(served, &rows);
    let started = Instant::now();
    let predictions = served.scorer.score(rows).await?;
    let latency_us = (started.elapsed().as_micros() as usize / predictions.len().max(1)) as i64;
    let answers = answer_rows(served, &predictions, inputs, latency_us, "predict")
        .into_iter()
        .map(|(answer, record)| {
            state.log.push(record);
            answer
        })
        .collect::<Vec<_>>();
    state
        .served
        .fetch_add(answers.len() as u64, Ordering::Relaxed);
    Ok((predictions, answers))
}

/// Each row as the object of features it stands for, as the log keeps it (taken before the
/// rows are handed to the scorer).
pub fn logged_inputs(served: &Served, rows: &[Vec<Cell>]) -> Vec<Value> {
    rows.iter()
        .map(|r| row_object(served.scorer.input(), r))
        .collect()
}

/// Each row's answer as the service gives it (the prediction plus the model's name, version,
/// stage, time and a new prediction id) and the log record of it under `source`. The service
/// and `ironmage predict-batch` both answer and log through this.
pub fn answer_rows(
    served: &Served,
    predictions: &[Prediction],
    inputs: Vec<Value>,
    latency_us: i64,
    source: &str,
) -> Vec<(Map<String, Value>, PredictionRecord)> {
    let time = clock::now();
    let v = &served.version;
    predictions
        .iter()
        .zip(inputs)
        .map(|(prediction, input)| {
            let id = ironmage_core::store::new_prediction_id();
            let mut answer = prediction.answer();
            // The log keeps the prediction alone: the record's own columns hold the model,
            // version, time and id, and a row half the size is half the write.
            let output =
                serde_json::value::to_raw_value(&answer).expect("a map of JSON values serializes");
            answer.insert("model_name".into(), json!(v.model));
            answer.insert("model_version".into(), json!(v.label));
            answer.insert("model_version_number".into(), json!(v.version));
            answer.insert("model_stage".into(), json!(v.stage.as_str()));
            answer.insert("prediction_time".into(), json!(time));
            answer.insert("prediction_id".into(), json!(id));
            let record = PredictionRecord {
                id,
                model: v.model.clone(),
                version: Some(v.version),
                label: Some(v.label.clone()),
                source: source.into(),
                input: to_json_text(&input),
                output,
                latency_us,
                created_at: time.clone(),
            };
            (answer, record)
        })
        .collect()
}

/// A CSV body in, the CSV with the answer columns added out.
async fn answer_csv(state: &ServingState, served: &Served, body: &[u8]) -> ApiResult<HttpResponse> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::invalid_field("body", "the CSV is not UTF-8 text"))?;
    let batch = read_csv_batch(served.scorer.input(), text, &CSV_ADDED)
        .map_err(|e| e.with_field("body"))?;
    let (predictions, answers) = score_rows(state, served, batch.rows.clone()).await?;
    let csv = write_csv_batch(&batch, &CSV_ADDED, |i| {
        csv_values(&predictions[i], &answers[i])
    });
    Ok(HttpResponse::Ok().content_type("text/csv").body(csv))
}

/// A row's answer as CSV cells: model, version, prediction, the probability of the second
/// (positive) class of a two-class model, prediction id.
pub fn csv_values(prediction: &Prediction, answer: &Map<String, Value>) -> Vec<String> {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let probability = match prediction {
        Prediction::Class { probabilities, .. } if probabilities.len() == 2 => {
            probabilities[1].1.to_string()
        }
        _ => String::new(),
    };
    vec![
        text(answer.get("model_name")),
        text(answer.get("model_version_number")),
        text(answer.get("prediction")),
        probability,
        text(answer.get("prediction_id")),
    ]
}

/// A row as the object of features it stands for, as logged.
fn row_object(schema: &InputSchema, row: &[Cell]) -> Value {
    Value::Object(
        schema
            .columns
            .iter()
            .zip(row)
            .map(|(c, cell)| {
                let v = match cell {
                    Cell::Number(v) if v.is_finite() => json!(v),
                    Cell::Number(_) => Value::Null,
                    Cell::Text(t) => json!(t),
                };
                (c.name.clone(), v)
            })
            .collect(),
    )
}

fn one_or_many(mut answers: Vec<Map<String, Value>>, batch: bool) -> Value {
    if batch || answers.len() != 1 {
        Value::Array(answers.into_iter().map(Value::Object).collect())
    } else {
        Value::Object(answers.swap_remove(0))
    }
}

fn is_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"))
}

/// Seed 003's `{"data": …, "use_staging": …, "version": …}`, told apart from a row of
/// features by holding `data` and only the selector keys.
fn split_envelope(value: Value) -> Result<(Value, SelectorQuery)> {
    const KEYS: [&str; 5] = ["data", "use_staging", "version", "stage", "alias"];
    match value {
        Value::Object(mut map)
            if map.contains_key("data") && map.keys().all(|k| KEYS.contains(&k.as_str())) =>
        {
            let data = map.remove("data").unwrap_or(Value::Null);
            let options: SelectorQuery = serde_json::from_value(Value::Object(map))
                .map_err(|e| Error::invalid_field("body", format!("bad selector: {e}")))?;
            Ok((data, options))
        }
        other => Ok((other, SelectorQuery::default())),
    }
}

impl SelectorQuery {
    /// The one selector given (Production when none); two at once is an error.
    pub fn selector(&self) -> Result<Selector> {
        let mut chosen = Vec::new();
        if let Some(v) = self.version {
            chosen.push(("version", Selector::Version(v)));
        }
        if let Some(stage) = &self.stage {
            let stage = ironmage_core::store::Stage::parse_user(stage)
                .map_err(|e| e.with_field("stage"))?;
            chosen.push(("stage", Selector::Stage(stage)));
        }
        if let Some(alias) = &self.alias {
            chosen.push(("alias", Selector::Alias(alias.clone())));
        }
        if self.use_staging == Some(true) {
            chosen.push((
                "use_staging",
                Selector::Stage(ironmage_core::store::Stage::Staging),
            ));
        }
        match chosen.len() {
            0 => Ok(Selector::Production),
            1 => Ok(chosen.remove(0).1),
            _ => Err(Error::invalid_field(
                chosen[1].0,
                format!(
                    "give one of version, stage, alias and use_staging, not {} and {}",
                    chosen[0].0, chosen[1].0
                ),
            )),
        }
    }
}

/// Which version to use, from the query or seed 003's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorQuery {
    /// A version number.
    pub version: Option<i64>,
    /// A stage (`Production`, `Staging`…).
    pub stage: Option<String>,
    /// An alias (`champion`).
    pub alias: Option<String>,
    /// Seed 003's switch for the Staging version.
    pub use_staging: Option<bool>,
}
