//! REST handlers under `/api`: health, pipelines, runs, and the registry's models, versions,
//! stage changes and lineage. Each handler carries its OpenAPI operation (`#[utoipa::path]`),
//! mounted with it by [`routes`].

use crate::examples;
use crate::extract::{actor, typed_body, ActingUser, BODY_LIMIT};
use crate::openapi::Internal;
use crate::respond::sorted_json;
use actix_web::{get, post, web, HttpResponse};
use ironmage_core::error::ErrorBody;
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::lineage::LineageDocument;
use ironmage_core::pipeline::project::BrokenPipeline;
use ironmage_core::store::{
    Deployment, ModelSummary, ModelVersion, RunDetail, RunScope, RunStatus, Stage, Transition,
};
use ironmage_core::{Error, Platform};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health)
        .service(crate::openapi::serve)
        .service(list_pipelines)
        .service(get_pipeline)
        .service(trigger_run)
        .service(list_runs)
        .service(get_run)
        .service(list_models)
        .service(get_model)
        .service(model_transitions)
        .service(get_version)
        .service(version_lineage)
        .service(transition);
    crate::registry_api::routes(cfg);
}

type Data = web::Data<Platform>;

/// Whether the web role and its metadata store answer
#[utoipa::path(
    tag = "health",
    operation_id = "webHealth",
    responses(
        (status = 200, description = "The store answers.", body = WebHealth, example = json!({"status": "healthy", "store": "ok"})),
        (status = 503, description = "The store does not answer: `status` is `unhealthy` and `store` holds the store's error (this body is not the Error shape).", body = WebHealth),
    )
)]
#[get("/health")]
async fn health(platform: Data) -> HttpResponse {
    match platform.ping().await {
        Ok(()) => HttpResponse::Ok().json(WebHealth {
            status: HealthStatus::Healthy,
            store: "ok".into(),
        }),
        Err(e) => HttpResponse::ServiceUnavailable().json(WebHealth {
            status: HealthStatus::Unhealthy,
            store: e.to_string(),
        }),
    }
}

pub(crate) fn pipeline_view(p: &ironmage_core::pipeline::Pipeline) -> Pipeline {
    Pipeline {
        blocks: p
            .blocks
            .iter()
            .map(|b| PipelineBlock {
                kind: b.kind.as_str(),
                name: b.name.clone(),
                retries: b.retries,
                timeout_secs: b.timeout.map(|t| t.as_secs_f64()),
                upstream: b.upstream.clone(),
                when: b.when_text.clone(),
            })
            .collect(),
        concurrency: p.concurrency,
        description: p.description.clone(),
        file: p.file.clone(),
        file_hash: p.file_hash.clone(),
        max_concurrent_runs: p.max_concurrent_runs,
        name: p.name.clone(),
        variables: p.variables.clone(),
    }
}

/// Every pipeline of the project, validated; broken files are listed with their error
#[utoipa::path(
    tag = "pipelines",
    operation_id = "listPipelines",
    responses(
        (status = 200, description = "Pipelines.", body = PipelineList, examples(
                ("ok" = (summary = "The demo project", value = json!(examples::list_pipelines_200_ok()))),
                ("broken" = (summary = "A folder whose pipeline.yaml does not validate", value = json!(examples::list_pipelines_200_broken())))
            )),
        (status = 404, description = "The project has no `pipelines/` folder.", body = ErrorBody, examples(
                ("no_folder" = (summary = "No pipelines folder", value = json!({"code": "not_found", "field": null, "message": "no pipelines folder at /tmp/emptyproj/pipelines: No such file or directory (os error 2)", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/pipelines")]
async fn list_pipelines(platform: Data) -> ApiResult<HttpResponse> {
    let (pipelines, errors) = platform.runs.pipelines()?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &PipelineList {
            errors,
            pipelines: pipelines.iter().map(pipeline_view).collect(),
        },
    ))
}

/// One pipeline, validated
#[utoipa::path(
    tag = "pipelines",
    operation_id = "getPipeline",
    params(
        ("name" = String, Path, description = "Pipeline name: the folder under `<project>/pipelines/` (a-z, 0-9, `_`, `-`).", example = "demo_mlops")
    ),
    responses(
        (status = 200, description = "The pipeline.", body = Pipeline, example = examples::get_pipeline_200),
        (status = 400, description = "Invalid name, or the file does not validate.", body = ErrorBody, examples(
                ("bad_name" = (summary = "Invalid pipeline name", value = json!({"code": "invalid_input", "field": "pipeline", "message": "pipeline: invalid pipeline name \"BAD.name\"", "type": "invalid_request"}))),
                ("invalid_file" = (summary = "The file does not validate", value = json!({"code": "invalid_input", "field": null, "message": "pipeline t_cycle: field upstream: the blocks [\"a\", \"b\"] are in a cycle or depend on one", "type": "invalid_request"})))
            )),
        (status = 404, description = "No such pipeline.", body = ErrorBody, examples(
                ("not_found" = (summary = "Unknown pipeline", value = json!({"code": "not_found", "field": null, "message": "pipeline \"nope\" not found in /tmp/q", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/pipelines/{name}")]
async fn get_pipeline(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &pipeline_view(&platform.runs.pipeline(&name)?),
    ))
}

/// Trigger a run: validated, recorded as queued, enqueued for an executor
///
/// Answers 202 at once; poll the run at `url` (also in the `Location` header). The variables are merged over the pipeline's defaults and every block config is type-checked before anything is recorded. The body may be empty; `Content-Type` is not checked. `block` runs one block alone and `from_block` a block and its downstream (as Mage's `--block-uuid`): the blocks feeding them do not run, their newest stored outputs are taken, and the other blocks are recorded `skipped`; the run's `scope` says which.
#[utoipa::path(
    tag = "runs",
    operation_id = "triggerRun",
    params(
        ("name" = String, Path, description = "Pipeline name: the folder under `<project>/pipelines/` (a-z, 0-9, `_`, `-`).", example = "demo_mlops")
    ),
    request_body(content = Option<RunRequest>, examples(
                ("defaults" = (summary = "Run with the defaults", value = json!({}))),
                ("seed" = (summary = "Override a variable", value = json!({"variables": {"seed": 7}}))),
                ("block" = (summary = "Run one block alone on the stored outputs of its upstream blocks", value = json!({"block": "training"}))),
                ("from_block" = (summary = "Run a block and everything downstream of it", value = json!({"from_block": "preprocessing", "variables": {"seed": 7}})))
            )),
    responses(
        (status = 202, description = "Queued.", body = TriggerResponse, headers(("Location" = String, description = "`/api/runs/<run_id>`")), example = json!({"pipeline": "demo_mlops", "run_id": "1557d247dc3f42b880d6272216198066", "status": "queued", "url": "/api/runs/1557d247dc3f42b880d6272216198066"})),
        (status = 400, description = "Bad body, unknown variable, or a variable value a block config rejects.", body = ErrorBody, examples(
                ("unknown_variable" = (summary = "Unknown variable", value = json!({"code": "invalid_input", "field": "variables.sed", "message": "variables.sed: pipeline demo_mlops has no variable \"sed\" (known: [\"min_auc\", \"rows\", \"seed\"])", "type": "invalid_request"}))),
                ("bad_value_type" = (summary = "A value of the wrong type", value = json!(examples::trigger_run_400_bad_value_type()))),
                ("bad_value_range" = (summary = "A value out of range", value = json!(examples::trigger_run_400_bad_value_range()))),
                ("unknown_field" = (summary = "Unknown body field", value = json!({"code": "invalid_input", "field": "vars", "message": "vars: unknown field `vars`, expected one of `variables`, `block`, `from_block`", "type": "invalid_request"}))),
                ("unknown_block" = (summary = "Unknown block", value = json!({"code": "invalid_input", "field": "block", "message": "block: pipeline demo_mlops has no block \"train\" (known: [\"make_dataset\", \"preprocessing\", \"training\", \"registry\", \"deployment\"])", "type": "invalid_request"}))),
                ("both_limits" = (summary = "Both block and from_block", value = json!({"code": "invalid_input", "field": "from_block", "message": "from_block: give either block (run one block alone) or from_block (run a block and its downstream), not both", "type": "invalid_request"}))),
                ("bad_json" = (summary = "JSON syntax error (the field is the key it happened in)", value = json!({"code": "invalid_input", "field": "seed", "message": "seed: invalid JSON at line 1 column 24: expected value at line 1 column 24", "type": "invalid_request"})))
            )),
        (status = 404, description = "No such pipeline.", body = ErrorBody, examples(
                ("not_found" = (summary = "Unknown pipeline", value = json!({"code": "not_found", "field": null, "message": "pipeline \"nope\" not found in /tmp/q", "type": "invalid_request"})))
            )),
        (status = 409, description = "`block` or `from_block` given, and a block feeding the ones to run has no stored output yet.", body = ErrorBody, examples(
                ("no_stored_output" = (summary = "Nothing to start from", value = json!({"code": "conflict", "field": null, "message": "block preprocessing has no stored output (no run of pipeline demo_mlops has completed it); run the pipeline once first", "type": "invalid_request"})))
            )),
        (status = 413, description = "Body too large.", body = ErrorBody, examples(
                ("too_large" = (summary = "Body over 1048576 bytes", value = json!({"code": "payload_too_large", "field": "body", "message": "body: the body is larger than the limit of 1048576 bytes", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[post("/pipelines/{name}/runs")]
async fn trigger_run(
    platform: Data,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let request: RunRequest = optional_body(payload).await?;
    let scope = RunScope::from_fields(request.block, request.from_block)?;
    let run = platform
        .runs
        .trigger_limited_run(&name, request.variables, "api", scope)
        .await?;
    Ok(accepted(&run))
}

/// `202 Accepted` for a run that executors will pick up, with where to follow it.
pub(crate) fn accepted(run: &ironmage_core::store::Run) -> HttpResponse {
    let url = format!("/api/runs/{}", run.id);
    sorted_json(
        HttpResponse::Accepted().insert_header(("Location", url.clone())),
        &TriggerResponse {
            pipeline: run.pipeline.clone(),
            run_id: run.id.clone(),
            status: run.status,
            url,
        },
    )
}

/// Newest runs first, with the status of their blocks (logs and previews are in GET /api/runs/{id})
#[utoipa::path(
    tag = "runs",
    operation_id = "listRuns",
    params(RunsQuery),
    responses(
        (status = 200, description = "Runs.", body = RunList, example = examples::list_runs_200),
        (status = 400, description = "Bad query string.", body = ErrorBody, examples(
                ("limit" = (summary = "limit out of range", value = json!({"code": "invalid_input", "field": "limit", "message": "limit: must be between 1 and 1000", "type": "invalid_request"}))),
                ("not_a_number" = (summary = "limit is not a number", value = json!({"code": "invalid_input", "field": "query", "message": "query: Query deserialize error: invalid digit found in string", "type": "invalid_request"}))),
                ("unknown_parameter" = (summary = "Unknown parameter", value = json!({"code": "invalid_input", "field": "query", "message": "query: Query deserialize error: unknown field `foo`, expected `pipeline` or `limit`", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/runs")]
async fn list_runs(platform: Data, query: web::Query<RunsQuery>) -> ApiResult<HttpResponse> {
    if !(1..=1000).contains(&query.limit) {
        return Err(Error::invalid_field("limit", "must be between 1 and 1000").into());
    }
    let runs = platform
        .runs
        .list_runs(query.pipeline.as_deref(), query.limit)
        .await?;
    Ok(sorted_json(&mut HttpResponse::Ok(), &RunList { runs }))
}

/// One run with its blocks: status, attempts, timing, logs, output preview
#[utoipa::path(
    tag = "runs",
    operation_id = "getRun",
    params(
        ("id" = String, Path, description = "Run id (32 hex digits).", example = "1557d247dc3f42b880d6272216198066")
    ),
    responses(
        (status = 200, description = "The run.", body = RunDetail, examples(
                ("success" = (summary = "A successful demo_mlops run", value = json!(examples::get_run_200_success()))),
                ("failed" = (summary = "A failed run: the deploy block's gate names a metric the version lacks; 2 retries were used", value = json!(examples::get_run_200_failed())))
            )),
        (status = 404, description = "No such run.", body = ErrorBody, examples(
                ("not_found" = (summary = "Unknown run", value = json!({"code": "not_found", "field": null, "message": "run \"nope\" not found", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/runs/{id}")]
async fn get_run(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.runs.run_detail(&id).await?))
}

/// Every registered model with its versions (newest first)
#[utoipa::path(
    tag = "registry",
    operation_id = "listModels",
    responses(
        (status = 200, description = "Models.", body = ModelList, example = examples::list_models_200),
        (status = 500, response = Internal),
    )
)]
#[get("/models")]
async fn list_models(platform: Data) -> ApiResult<HttpResponse> {
    let models = platform.registry.read().list_models().await?;
    Ok(sorted_json(&mut HttpResponse::Ok(), &ModelList { models }))
}

/// One model: its versions and the deploy gate's decisions
#[utoipa::path(
    tag = "registry",
    operation_id = "getModel",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn")
    ),
    responses(
        (status = 200, description = "The model.", body = ModelDetail, example = examples::get_model_200),
        (status = 404, description = "No version of this model exists.", body = ErrorBody, examples(
                ("not_found" = (summary = "Unknown model", value = json!({"code": "not_found", "field": null, "message": "model \"nope\" not found", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}")]
async fn get_model(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let versions = platform.registry.read().versions(&name).await?;
    if versions.is_empty() {
        return Err(Error::not_found(format!("model {:?} not found", name.as_str())).into());
    }
    let deployments = platform.registry.read().deployments(&name).await?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &ModelDetail {
            deployments,
            name: name.into_inner(),
            versions,
        },
    ))
}

/// The audit trail of a model's stage changes, oldest first
///
/// An unknown model answers 200 with an empty list.
#[utoipa::path(
    tag = "registry",
    operation_id = "modelTransitions",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn")
    ),
    responses(
        (status = 200, description = "Transitions.", body = TransitionList, example = examples::model_transitions_200),
        (status = 500, response = Internal),
        (status = 404, description = "No version of this model exists.", body = ErrorBody, examples(
                ("not_found" = (summary = "Unknown model", value = json!({"code": "not_found", "field": null, "message": "model \"nope\" not found", "type": "invalid_request"})))
            )),
    )
)]
#[get("/models/{name}/transitions")]
async fn model_transitions(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let transitions = platform.registry.read().transitions(&name).await?;
    if transitions.is_empty() {
        return Err(Error::not_found(format!("model {:?} not found", name.as_str())).into());
    }
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &TransitionList { transitions },
    ))
}

/// One model version
#[utoipa::path(
    tag = "registry",
    operation_id = "getVersion",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("version" = i64, Path, description = "Version number (1, 2, 3… per model).", example = 2)
    ),
    responses(
        (status = 200, description = "The version.", body = ModelVersion, example = examples::get_version_200),
        (status = 400, description = "The version is not an integer.", body = ErrorBody, examples(
                ("bad_version" = (summary = "Version is not an integer", value = json!({"code": "invalid_input", "field": "path", "message": "path: Path deserialize error: can not parse \"abc\" to a i64", "type": "invalid_request"})))
            )),
        (status = 404, description = "No such model or version.", body = ErrorBody, examples(
                ("not_found" = (summary = "No such version", value = json!({"code": "not_found", "field": null, "message": "model \"churn\" has no version 9", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/versions/{version}")]
async fn get_version(platform: Data, path: web::Path<(String, i64)>) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    Ok(HttpResponse::Ok().json(platform.registry.read().version(&name, version).await?))
}

/// The lineage document of one version: code, data, hyperparameters, metrics, artifacts, predictions
#[utoipa::path(
    tag = "registry",
    operation_id = "versionLineage",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("version" = i64, Path, description = "Version number (1, 2, 3… per model).", example = 2)
    ),
    responses(
        (status = 200, description = "Lineage.", body = LineageDocument<'static>, example = examples::version_lineage_200),
        (status = 400, description = "The version is not an integer.", body = ErrorBody, examples(
                ("bad_version" = (summary = "Version is not an integer", value = json!({"code": "invalid_input", "field": "path", "message": "path: Path deserialize error: can not parse \"abc\" to a i64", "type": "invalid_request"})))
            )),
        (status = 404, description = "No such model or version.", body = ErrorBody, examples(
                ("not_found" = (summary = "No such version", value = json!({"code": "not_found", "field": null, "message": "model \"churn\" has no version 9", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/versions/{version}/lineage")]
async fn version_lineage(
    platform: Data,
    path: web::Path<(String, i64)>,
) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    Ok(HttpResponse::Ok().json(platform.registry.read().lineage(&name, version).await?))
}

/// Move a version to a stage (promotion, rollback, archive), audited
///
/// Moving a version to Production archives the current Production version in the same transaction. Prediction services serving this model are told at once in the same process, and within `--poll-ms` in other processes. Needs `Content-Type: application/json`.
#[utoipa::path(
    tag = "registry",
    operation_id = "transitionVersion",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("version" = i64, Path, description = "Version number (1, 2, 3… per model).", example = 2),
        ActingUser
    ),
    request_body(content = TransitionRequest, example = json!({"stage": "Production", "reason": "rollback: v2 flags too many loyal customers", "actor": "alice"})),
    responses(
        (status = 200, description = "The version after the change.", body = ModelVersion, example = examples::transition_version_200),
        (status = 400, description = "Bad body, stage, reason or model name.", body = ErrorBody, examples(
                ("stage" = (summary = "Unknown stage", value = json!({"code": "invalid_input", "field": "stage", "message": "stage: unknown stage \"prod\": expected one of None, Staging, Production, Archived", "type": "invalid_request"}))),
                ("reason" = (summary = "Blank reason", value = json!({"code": "invalid_input", "field": "reason", "message": "reason: a stage change needs a reason", "type": "invalid_request"}))),
                ("missing_field" = (summary = "A required field is missing", value = json!({"code": "invalid_input", "field": "body", "message": "body: invalid JSON body: Json deserialize error: missing field `reason` at line 1 column 20", "type": "invalid_request"}))),
                ("content_type" = (summary = "No JSON Content-Type", value = json!({"code": "invalid_input", "field": "body", "message": "body: invalid JSON body: Content type error", "type": "invalid_request"}))),
                ("model_name" = (summary = "Invalid model name", value = json!({"code": "invalid_input", "field": "model", "message": "model: invalid model name \"a b\": use 1 to 128 letters, digits, '_', '-' or '.', not starting with '.' or '-'", "type": "invalid_request"}))),
                ("bad_version" = (summary = "Version is not an integer", value = json!({"code": "invalid_input", "field": "path", "message": "path: Path deserialize error: can not parse \"abc\" to a i64", "type": "invalid_request"})))
            )),
        (status = 404, description = "No such model or version.", body = ErrorBody, examples(
                ("model" = (summary = "Unknown model", value = json!({"code": "not_found", "field": null, "message": "model \"nope\" not found", "type": "invalid_request"}))),
                ("version" = (summary = "No such version", value = json!({"code": "not_found", "field": null, "message": "model \"churn\" has no version 9", "type": "invalid_request"})))
            )),
        (status = 409, description = "The version is already in that stage.", body = ErrorBody, examples(
                ("conflict" = (summary = "Same stage", value = json!({"code": "conflict", "field": null, "message": "version 2 of \"churn\" is already in Production", "type": "invalid_request"})))
            )),
        (status = 413, description = "Body too large.", body = ErrorBody, examples(
                ("too_large" = (summary = "Body over 1048576 bytes", value = json!({"code": "payload_too_large", "field": "body", "message": "body: the body is larger than the limit of 1048576 bytes", "type": "invalid_request"})))
            )),
        (status = 500, response = Internal),
    )
)]
#[post("/models/{name}/versions/{version}/transition")]
async fn transition(
    platform: Data,
    req: actix_web::HttpRequest,
    path: web::Path<(String, i64)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    let body: TransitionRequest = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    let stage = Stage::parse_user(&body.stage)?;
    let actor = actor(&req, body.actor)?;
    let changed = platform
        .registry
        .transition(&name, version, stage, &actor, &body.reason)
        .await?;
    Ok(HttpResponse::Ok().json(changed))
}

// Bodies. Fields of the answers are in alphabetical order: that is the order they have on the
// wire (see `respond`), so the schema reads like the JSON.

/// Whether the store answers.
#[derive(Serialize, ToSchema)]
struct WebHealth {
    status: HealthStatus,
    /// `ok`, or the store's error when unhealthy.
    store: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum HealthStatus {
    Healthy,
    Unhealthy,
}

/// A validated pipeline file; blocks in execution (topological) order.
#[derive(Serialize, ToSchema)]
pub(crate) struct Pipeline {
    blocks: Vec<PipelineBlock>,
    /// How many blocks of one run may run at once.
    #[schema(minimum = 1, maximum = 64)]
    concurrency: usize,
    description: String,
    /// Path relative to the project folder.
    #[schema(example = "pipelines/demo_mlops/pipeline.yaml")]
    file: String,
    #[schema(
        pattern = "^sha256:[0-9a-f]{64}$",
        example = "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a"
    )]
    file_hash: String,
    /// How many runs of this pipeline triggers may have queued or running at once.
    #[schema(required, minimum = 1)]
    max_concurrent_runs: Option<u32>,
    #[schema(example = "demo_mlops")]
    name: String,
    /// Variables and their defaults.
    variables: Map<String, Value>,
}

/// One block of a pipeline.
#[derive(Serialize, ToSchema)]
pub(crate) struct PipelineBlock {
    /// The block kind: `synthetic_churn`, `preprocess`, `random_forest_classifier`,
    /// `register_model`, `deploy`, `noop`…
    #[schema(example = "random_forest_classifier")]
    kind: &'static str,
    #[schema(example = "training")]
    name: String,
    #[schema(maximum = 10)]
    retries: u32,
    /// Time limit of one attempt, in seconds.
    #[schema(required)]
    timeout_secs: Option<f64>,
    upstream: Vec<String>,
    /// Condition over `variables.<name>` and upstream outputs (`training.metrics.auc_score >= 0.8`);
    /// the block is skipped when it does not hold.
    #[schema(required, example = "variables.deploy == true")]
    when: Option<String>,
}

/// Every pipeline of the project.
#[derive(Serialize, ToSchema)]
struct PipelineList {
    /// Pipeline folders whose file does not validate.
    errors: Vec<BrokenPipeline>,
    pipelines: Vec<Pipeline>,
}

/// Optional: an empty body runs with the defaults.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriggerRequest {
    /// Overrides of the pipeline's variables; an unknown name is a 400.
    #[serde(default)]
    pub variables: Map<String, Value>,
}

/// Optional: an empty body runs every block with the defaults.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunRequest {
    /// Overrides of the pipeline's variables; an unknown name is a 400.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Run only this block (Mage's `--block-uuid`); the blocks feeding it do not run, their
    /// newest stored outputs are taken. Not with `from_block`.
    #[schema(example = "training")]
    pub block: Option<String>,
    /// Run this block and every block downstream of it; the blocks feeding them do not run,
    /// their newest stored outputs are taken. Not with `block`.
    #[schema(example = "preprocessing")]
    pub from_block: Option<String>,
}

/// The body, or the defaults when it is empty (`Content-Type` is not checked).
pub(crate) async fn optional_body<T: serde::de::DeserializeOwned + Default>(
    payload: web::Payload,
) -> ApiResult<T> {
    let body = read_body(payload, BODY_LIMIT).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        Ok(typed_body(&body)?)
    }
}

/// A queued run and where to follow it.
#[derive(Serialize, ToSchema)]
pub(crate) struct TriggerResponse {
    pipeline: String,
    run_id: String,
    status: RunStatus,
    /// Where to poll the run.
    url: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RunsQuery {
    /// Only runs of this pipeline.
    #[param(example = "demo_mlops")]
    pipeline: Option<String>,
    /// How many runs (1 to 1000).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000, example = 2)]
    limit: i64,
}

fn default_limit() -> i64 {
    50
}

/// Runs, newest first.
#[derive(Serialize, ToSchema)]
struct RunList {
    /// Newest first; blocks without logs and previews.
    runs: Vec<RunDetail>,
}

/// Every registered model.
#[derive(Serialize, ToSchema)]
struct ModelList {
    models: Vec<ModelSummary>,
}

/// A model's versions and the deploy gate's decisions.
#[derive(Serialize, ToSchema)]
struct ModelDetail {
    /// Newest first.
    deployments: Vec<Deployment>,
    name: String,
    /// Newest first.
    versions: Vec<ModelVersion>,
}

/// A model's audit trail.
#[derive(Serialize, ToSchema)]
struct TransitionList {
    /// Oldest first.
    transitions: Vec<Transition>,
}

/// A stage change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransitionRequest {
    /// None, Staging, Production or Archived, in any letter case.
    #[schema(example = "Production")]
    stage: String,
    /// Why; must not be blank.
    #[schema(example = "rollback: v2 flags too many loyal customers")]
    reason: String,
    /// Who acts (`api` by default; the `X-Ironmage-User` header wins).
    #[schema(example = "alice")]
    actor: Option<String>,
}
