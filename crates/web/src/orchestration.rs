//! REST handlers for triggers and for acting on runs (cancel, re-run from the failed block).

use crate::api::accepted;
use crate::extract::{typed_body, BODY_LIMIT};
use actix_web::{web, HttpResponse};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::triggers::TriggerFields;
use ironmage_core::Platform;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/triggers", web::get().to(list_triggers))
        .route("/pipelines/{name}/triggers", web::post().to(create_trigger))
        .route("/triggers/{id}", web::get().to(get_trigger))
        .route("/triggers/{id}", web::patch().to(update_trigger))
        .route("/triggers/{id}", web::delete().to(delete_trigger))
        .route("/triggers/{id}/runs", web::post().to(fire_trigger))
        .route("/runs/{id}/cancel", web::post().to(cancel_run))
        .route("/runs/{id}/rerun", web::post().to(rerun));
}

type Data = web::Data<Platform>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersQuery {
    pipeline: Option<String>,
}

async fn list_triggers(
    platform: Data,
    query: web::Query<TriggersQuery>,
) -> ApiResult<HttpResponse> {
    let triggers = platform.triggers.list(query.pipeline.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({ "triggers": triggers })))
}

async fn create_trigger(
    platform: Data,
    pipeline: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let fields: TriggerFields = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    let trigger = platform
        .triggers
        .create_trigger(&pipeline, &fields, "api")
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/triggers/{}", trigger.id)))
        .json(trigger))
}

async fn get_trigger(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.triggers.get(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerUpdate {
    enabled: bool,
}

async fn update_trigger(
    platform: Data,
    id: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let update: TriggerUpdate = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    Ok(HttpResponse::Ok().json(
        platform
            .triggers
            .set_trigger_enabled(&id, update.enabled)
            .await?,
    ))
}

async fn delete_trigger(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    platform.triggers.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FireBody {
    #[serde(default)]
    variables: Map<String, Value>,
}

async fn fire_trigger(
    platform: Data,
    id: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(payload, BODY_LIMIT).await?;
    let request: FireBody = if body.iter().all(u8::is_ascii_whitespace) {
        FireBody::default()
    } else {
        typed_body(&body)?
    };
    Ok(accepted(
        &platform
            .triggers
            .fire_trigger(&id, request.variables)
            .await?,
    ))
}

async fn cancel_run(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let run = platform.runs.cancel_run(&id).await?;
    Ok(HttpResponse::Accepted()
        .json(json!({"run_id": run.id, "status": run.status, "cancel_requested": true})))
}

async fn rerun(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(accepted(&platform.runs.rerun(&id).await?))
}
