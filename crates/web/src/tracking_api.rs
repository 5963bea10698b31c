//! Native REST for experiment tracking and registry metadata, under `/api`: experiments,
//! run search with MLflow's filter syntax, metric history, aliases, tags and descriptions.
//! (MLflow clients use the MLflow routes instead; both read the same store.)

use crate::extract::{typed_body, BODY_LIMIT};
use actix_web::{web, HttpResponse};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::store::{RunSearch, ViewType};
use ironmage_core::{Error, Platform};
use serde::Deserialize;
use serde_json::json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/experiments", web::get().to(list_experiments))
        .route("/experiments/{id}/runs", web::get().to(search_runs))
        .route("/tracking-runs/{id}", web::get().to(get_run))
        .route(
            "/tracking-runs/{id}/metrics/{key}",
            web::get().to(metric_history),
        )
        .route("/models/{name}/metadata", web::get().to(model_metadata))
        .route("/models/{name}/description", web::put().to(set_description))
        .route("/models/{name}/tags/{key}", web::put().to(set_model_tag))
        .route(
            "/models/{name}/tags/{key}",
            web::delete().to(delete_model_tag),
        )
        .route("/models/{name}/aliases/{alias}", web::put().to(set_alias))
        .route(
            "/models/{name}/aliases/{alias}",
            web::delete().to(delete_alias),
        )
        .route(
            "/models/{name}/versions/{version}/metadata",
            web::get().to(version_metadata),
        )
        .route(
            "/models/{name}/versions/{version}/tags/{key}",
            web::put().to(set_version_tag),
        );
}

type Data = web::Data<Platform>;

async fn list_experiments(platform: Data) -> ApiResult<HttpResponse> {
    let experiments = platform
        .tracking
        .search_experiments(ViewType::ActiveOnly, 0, 10_000)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "experiments": experiments })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    #[serde(default)]
    filter: String,
    /// Comma-separated, e.g. `metrics.auc DESC,start_time`.
    #[serde(default)]
    order_by: String,
    #[serde(default)]
    offset: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

async fn search_runs(
    platform: Data,
    id: web::Path<i64>,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    if !(1..=1000).contains(&query.limit) {
        return Err(Error::invalid_field("limit", "must be between 1 and 1000").into());
    }
    if query.offset < 0 {
        return Err(Error::invalid_field("offset", "must not be negative").into());
    }
    platform.tracking.experiment(*id).await?;
    let runs = platform
        .tracking
        .search_tracking_runs(&RunSearch {
            experiment_ids: vec![*id],
            filter: query.filter.clone(),
            view: ViewType::ActiveOnly,
            order_by: query
                .order_by
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            offset: query.offset,
            limit: query.limit,
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "runs": runs })))
}

async fn get_run(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.tracking.tracking_run(&id).await?))
}

async fn metric_history(
    platform: Data,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, key) = path.into_inner();
    let history = platform.tracking.metric_history(&id, &key).await?;
    Ok(HttpResponse::Ok().json(json!({ "key": key, "history": history })))
}

async fn model_metadata(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DescriptionBody {
    description: String,
}

async fn set_description(
    platform: Data,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body: DescriptionBody = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    platform
        .registry
        .set_model_description(&name, &body.description)
        .await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagBody {
    value: String,
}

async fn set_model_tag(
    platform: Data,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, key) = path.into_inner();
    let body: TagBody = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    platform
        .registry
        .set_model_tag(&name, &key, Some(&body.value))
        .await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

async fn delete_model_tag(
    platform: Data,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, key) = path.into_inner();
    platform.registry.set_model_tag(&name, &key, None).await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasBody {
    version: i64,
}

async fn set_alias(
    platform: Data,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, alias) = path.into_inner();
    let body: AliasBody = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    platform
        .registry
        .set_alias(&name, &alias, body.version)
        .await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

async fn delete_alias(
    platform: Data,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, alias) = path.into_inner();
    platform.registry.delete_alias(&name, &alias).await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

async fn version_metadata(
    platform: Data,
    path: web::Path<(String, i64)>,
) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    platform.registry.read().version(&name, version).await?;
    Ok(HttpResponse::Ok().json(
        platform
            .registry
            .read()
            .version_meta(&name, version)
            .await?,
    ))
}

async fn set_version_tag(
    platform: Data,
    path: web::Path<(String, i64, String)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, version, key) = path.into_inner();
    let body: TagBody = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    platform
        .registry
        .set_version_tag(&name, version, &key, Some(&body.value))
        .await?;
    Ok(HttpResponse::Ok().json(
        platform
            .registry
            .read()
            .version_meta(&name, version)
            .await?,
    ))
}
