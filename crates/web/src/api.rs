//! REST handlers under `/api`.

use crate::extract::{actor, typed_body, BODY_LIMIT};
use actix_web::{web, HttpResponse};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::store::Stage;
use ironmage_core::{Error, Platform};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/openapi.json", web::get().to(openapi))
        .route("/pipelines", web::get().to(list_pipelines))
        .route("/pipelines/{name}", web::get().to(get_pipeline))
        .route("/pipelines/{name}/runs", web::post().to(trigger_run))
        .route("/runs", web::get().to(list_runs))
        .route("/runs/{id}", web::get().to(get_run))
        .route("/models", web::get().to(list_models))
        .route("/models/{name}", web::get().to(get_model))
        .route(
            "/models/{name}/transitions",
            web::get().to(model_transitions),
        )
        .route(
            "/models/{name}/versions/{version}",
            web::get().to(get_version),
        )
        .route(
            "/models/{name}/versions/{version}/lineage",
            web::get().to(version_lineage),
        )
        .route(
            "/models/{name}/versions/{version}/transition",
            web::post().to(transition),
        );
    crate::registry_api::routes(cfg);
}

type Data = web::Data<Platform>;

async fn health(platform: Data) -> HttpResponse {
    match platform.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "healthy", "store": "ok"})),
        Err(e) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unhealthy", "store": e.to_string()})),
    }
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("../openapi.json"))
}

fn pipeline_json(p: &ironmage_core::pipeline::Pipeline) -> Value {
    json!({
        "name": p.name,
        "description": p.description,
        "file": p.file,
        "file_hash": p.file_hash,
        "variables": p.variables,
        "concurrency": p.concurrency,
        "max_concurrent_runs": p.max_concurrent_runs,
        "blocks": p.blocks.iter().map(|b| json!({
            "name": b.name,
            "kind": b.kind.as_str(),
            "upstream": b.upstream,
            "retries": b.retries,
            "timeout_secs": b.timeout.map(|t| t.as_secs_f64()),
            "when": b.when_text,
        })).collect::<Vec<_>>(),
    })
}

async fn list_pipelines(platform: Data) -> ApiResult<HttpResponse> {
    let (pipelines, broken) = platform.runs.pipelines()?;
    Ok(HttpResponse::Ok().json(json!({
        "pipelines": pipelines.iter().map(pipeline_json).collect::<Vec<_>>(),
        "errors": broken,
    })))
}

async fn get_pipeline(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(pipeline_json(&platform.runs.pipeline(&name)?)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    #[serde(default)]
    variables: Map<String, Value>,
}

async fn trigger_run(
    platform: Data,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(payload, BODY_LIMIT).await?;
    let request: TriggerBody = if body.iter().all(u8::is_ascii_whitespace) {
        TriggerBody::default()
    } else {
        typed_body(&body)?
    };
    let run = platform
        .runs
        .trigger_run(&name, request.variables, "api")
        .await?;
    Ok(accepted(&run))
}

/// `202 Accepted` for a run that executors will pick up, with where to follow it.
pub(crate) fn accepted(run: &ironmage_core::store::Run) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/runs/{}", run.id)))
        .json(json!({"run_id": run.id, "status": run.status, "pipeline": run.pipeline, "url": format!("/api/runs/{}", run.id)}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    pipeline: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    50
}

async fn list_runs(platform: Data, query: web::Query<RunsQuery>) -> ApiResult<HttpResponse> {
    if !(1..=1000).contains(&query.limit) {
        return Err(Error::invalid_field("limit", "must be between 1 and 1000").into());
    }
    let runs = platform
        .runs
        .list_runs(query.pipeline.as_deref(), query.limit)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"runs": runs})))
}

async fn get_run(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.runs.run_detail(&id).await?))
}

async fn list_models(platform: Data) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({"models": platform.registry.read().list_models().await?})))
}

async fn get_model(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let versions = platform.registry.read().versions(&name).await?;
    if versions.is_empty() {
        return Err(Error::not_found(format!("model {:?} not found", name.as_str())).into());
    }
    let deployments = platform.registry.read().deployments(&name).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"name": name.as_str(), "versions": versions, "deployments": deployments})))
}

async fn model_transitions(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let transitions = platform.registry.read().transitions(&name).await?;
    if transitions.is_empty() {
        return Err(Error::not_found(format!("model {:?} not found", name.as_str())).into());
    }
    Ok(HttpResponse::Ok().json(json!({"transitions": transitions})))
}

async fn get_version(platform: Data, path: web::Path<(String, i64)>) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    Ok(HttpResponse::Ok().json(platform.registry.read().version(&name, version).await?))
}

async fn version_lineage(
    platform: Data,
    path: web::Path<(String, i64)>,
) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    Ok(HttpResponse::Ok().json(platform.registry.read().lineage(&name, version).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    stage: String,
    reason: String,
    actor: Option<String>,
}

async fn transition(
    platform: Data,
    req: actix_web::HttpRequest,
    path: web::Path<(String, i64)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    let body: TransitionBody = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    let stage = Stage::parse_user(&body.stage)?;
    let actor = actor(&req, body.actor)?;
    let changed = platform
        .registry
        .transition(&name, version, stage, &actor, &body.reason)
        .await?;
    Ok(HttpResponse::Ok().json(changed))
}
