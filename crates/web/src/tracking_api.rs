//! Native REST for experiment tracking and registry metadata, under `/api`: experiments,
//! run search with MLflow's filter syntax, metric history, aliases, tags and descriptions.
//! (MLflow clients use the MLflow routes instead; both read the same store.)

use crate::examples;
use crate::extract::{typed_body, BODY_LIMIT};
use crate::openapi::Internal;
use crate::respond::sorted_json;
use actix_web::{delete, get, put, web, HttpResponse};
use ironmage_core::error::ErrorBody;
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::store::{
    Experiment, MetricPoint, RegisteredModel, RunSearch, TrackingRun, VersionMeta, ViewType,
};
use ironmage_core::{Error, Platform};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_experiments)
        .service(search_runs)
        .service(get_run)
        .service(metric_history)
        .service(model_metadata)
        .service(set_description)
        .service(set_model_tag)
        .service(delete_model_tag)
        .service(set_alias)
        .service(delete_alias)
        .service(version_metadata)
        .service(set_version_tag);
}

type Data = web::Data<Platform>;

/// Active experiments, newest first (Default is id 0; each pipeline has one named after it)
#[utoipa::path(
    tag = "tracking",
    operation_id = "listExperiments",
    responses(
        (status = 200, description = "The experiments.", body = ExperimentList, example = examples::list_experiments_200),
        (status = 500, response = Internal),
    )
)]
#[get("/experiments")]
async fn list_experiments(platform: Data) -> ApiResult<HttpResponse> {
    let experiments = platform
        .tracking
        .search_experiments(ViewType::ActiveOnly, 0, 10_000)
        .await?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &ExperimentList { experiments },
    ))
}

/// Search an experiment's runs with MLflow's filter syntax and order
#[utoipa::path(
    tag = "tracking",
    operation_id = "searchTrackingRuns",
    params(
        ("id" = i64, Path, description = "Experiment id.", example = 0),
        SearchQuery
    ),
    responses(
        (status = 200, description = "Matching runs.", body = TrackingRunList),
        (status = 400, description = "Bad filter, order_by, offset or limit (`field` names it).", body = ErrorBody),
        (status = 404, description = "No such experiment.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/experiments/{id}/runs")]
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
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &TrackingRunList { runs },
    ))
}

/// A tracking run with its latest metrics, params and tags
#[utoipa::path(
    tag = "tracking",
    operation_id = "getTrackingRun",
    params(
        ("id" = String, Path, description = "Tracking run id (a pipeline run's id, or an MLflow run id).", example = "4971c84c8b9b45df8fa5322ea8e8d8d7")
    ),
    responses(
        (status = 200, description = "The run.", body = TrackingRun),
        (status = 404, description = "No such run.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/tracking-runs/{id}")]
async fn get_run(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.tracking.tracking_run(&id).await?))
}

/// Every point of one metric, by step then time
#[utoipa::path(
    tag = "tracking",
    operation_id = "getMetricHistory",
    params(
        ("id" = String, Path, description = "Tracking run id.", example = "4971c84c8b9b45df8fa5322ea8e8d8d7"),
        ("key" = String, Path, description = "Metric name.", example = "auc_score")
    ),
    responses(
        (status = 200, description = "The history.", body = MetricHistory, example = json!({"key": "loss", "history": [{"key": "loss", "value": 1.0, "timestamp": 1795452651234_i64, "step": 0}, {"key": "loss", "value": 0.5, "timestamp": 1795452651297_i64, "step": 1}]})),
        (status = 404, description = "No such run.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/tracking-runs/{id}/metrics/{key}")]
async fn metric_history(
    platform: Data,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, key) = path.into_inner();
    let history = platform.tracking.metric_history(&id, &key).await?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &MetricHistory { history, key },
    ))
}

/// A registered model's description, tags and aliases
#[utoipa::path(
    tag = "tracking",
    operation_id = "getModelMetadata",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn")
    ),
    responses(
        (status = 200, description = "The metadata.", body = RegisteredModel),
        (status = 404, description = "No such model.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/metadata")]
async fn model_metadata(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

/// Set a registered model's description
#[utoipa::path(
    tag = "tracking",
    operation_id = "setModelDescription",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn")
    ),
    request_body(content = DescriptionBody, example = json!({"description": "Customer churn classifier"})),
    responses(
        (status = 200, description = "The metadata after the change.", body = RegisteredModel),
        (status = 400, description = "Bad body.", body = ErrorBody),
        (status = 404, description = "No such model.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/models/{name}/description")]
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

/// Set a registered-model tag
#[utoipa::path(
    tag = "tracking",
    operation_id = "setModelTag",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("key" = String, Path, description = "Tag key.", example = "owner")
    ),
    request_body(content = TagBody, example = json!({"value": "ml-team"})),
    responses(
        (status = 200, description = "The metadata after the change.", body = RegisteredModel),
        (status = 400, description = "Bad body or key.", body = ErrorBody),
        (status = 404, description = "No such model.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/models/{name}/tags/{key}")]
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

/// Remove a registered-model tag
#[utoipa::path(
    tag = "tracking",
    operation_id = "deleteModelTag",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("key" = String, Path, description = "Tag key.", example = "owner")
    ),
    responses(
        (status = 200, description = "The metadata after the change.", body = RegisteredModel),
        (status = 404, description = "No such model.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[delete("/models/{name}/tags/{key}")]
async fn delete_model_tag(
    platform: Data,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, key) = path.into_inner();
    platform.registry.set_model_tag(&name, &key, None).await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

/// Point an alias at a version (moving it if it pointed elsewhere)
#[utoipa::path(
    tag = "tracking",
    operation_id = "setAlias",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("alias" = String, Path, description = "Alias: letters, digits, _ and -; not latest nor v<number>.", example = "champion")
    ),
    request_body(content = AliasBody, example = json!({"version": 1})),
    responses(
        (status = 200, description = "The metadata after the change.", body = RegisteredModel),
        (status = 400, description = "Bad alias name or body.", body = ErrorBody),
        (status = 404, description = "No such model or version.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/models/{name}/aliases/{alias}")]
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

/// Remove an alias (a missing alias is not an error)
#[utoipa::path(
    tag = "tracking",
    operation_id = "deleteAlias",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("alias" = String, Path, description = "Alias: letters, digits, _ and -; not latest nor v<number>.", example = "champion")
    ),
    responses(
        (status = 200, description = "The metadata after the change.", body = RegisteredModel),
        (status = 404, description = "No such model.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[delete("/models/{name}/aliases/{alias}")]
async fn delete_alias(
    platform: Data,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, alias) = path.into_inner();
    platform.registry.delete_alias(&name, &alias).await?;
    Ok(HttpResponse::Ok().json(platform.registry.read().registered_model(&name).await?))
}

/// A version's description, tags and aliases
#[utoipa::path(
    tag = "tracking",
    operation_id = "getVersionMetadata",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("version" = i64, Path, description = "Version number.", example = 1)
    ),
    responses(
        (status = 200, description = "The metadata.", body = VersionMeta),
        (status = 404, description = "No such model or version.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/versions/{version}/metadata")]
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

/// Set a version tag
#[utoipa::path(
    tag = "tracking",
    operation_id = "setVersionTag",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("version" = i64, Path, description = "Version number.", example = 1),
        ("key" = String, Path, description = "Tag key.", example = "validated")
    ),
    request_body(content = TagBody, example = json!({"value": "true"})),
    responses(
        (status = 200, description = "The version metadata after the change.", body = VersionMeta),
        (status = 400, description = "Bad body or key.", body = ErrorBody),
        (status = 404, description = "No such model or version.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/models/{name}/versions/{version}/tags/{key}")]
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

/// Active experiments.
#[derive(Serialize, ToSchema)]
struct ExperimentList {
    experiments: Vec<Experiment>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// `and`-joined clauses on metrics.<k>, params.<k>, tags.<k> and status, run_name, run_id,
    /// user_id, start_time, end_time.
    #[serde(default)]
    #[param(example = "metrics.auc_score > 0.8 and params.n_estimators = '100'")]
    filter: String,
    /// Comma-separated keys with ASC or DESC, e.g. `metrics.auc DESC,start_time`.
    #[serde(default)]
    #[param(example = "metrics.auc_score DESC")]
    order_by: String,
    /// Runs to skip.
    #[serde(default)]
    #[param(minimum = 0)]
    offset: i64,
    /// How many runs (1 to 1000).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000)]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// Matching runs.
#[derive(Serialize, ToSchema)]
struct TrackingRunList {
    runs: Vec<TrackingRun>,
}

/// Every point of one metric of a run.
#[derive(Serialize, ToSchema)]
struct MetricHistory {
    history: Vec<MetricPoint>,
    key: String,
}

/// A model's new description.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DescriptionBody {
    description: String,
}

/// A tag's value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TagBody {
    value: String,
}

/// The version an alias points at.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AliasBody {
    version: i64,
}
