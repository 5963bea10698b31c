//! The ceiling the prediction service is measured against (`scripts/bench-serving.sh`): a bare
//! actix handler that reads the same request body, parses it as JSON, checks each feature is a
//! number and answers a small JSON object. No model, no log, no state.
//!
//! `cargo run --release -p ironmage-prediction --example bare_ceiling -- 127.0.0.1:5099`

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};

async fn predict(body: web::Bytes) -> HttpResponse {
    let Ok(Value::Object(features)) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().json(json!({"message": "expected an object"}));
    };
    let sum: f64 = features.values().filter_map(Value::as_f64).sum();
    if features.values().any(|v| !v.is_number()) {
        return HttpResponse::BadRequest().json(json!({"message": "expected numbers"}));
    }
    HttpResponse::Ok().json(json!({"prediction": u8::from(sum > 0.0), "features": features.len()}))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5099".into());
    // Two workers, as the prediction role runs with.
    HttpServer::new(|| App::new().route("/predict", web::post().to(predict)))
        .workers(2)
        .bind(addr)?
        .run()
        .await
}
