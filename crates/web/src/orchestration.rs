//! REST handlers for triggers and for acting on runs (cancel, re-run from the failed block).

use crate::api::{accepted, optional_body, TriggerRequest, TriggerResponse};
use crate::extract::{typed_body, BODY_LIMIT};
use crate::openapi::Internal;
use crate::respond::sorted_json;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use ironmage_core::error::ErrorBody;
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::store::{RunStatus, Trigger};
use ironmage_core::triggers::TriggerFields;
use ironmage_core::Platform;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_triggers)
        .service(create_trigger)
        .service(get_trigger)
        .service(update_trigger)
        .service(delete_trigger)
        .service(fire_trigger)
        .service(cancel_run)
        .service(rerun);
}

type Data = web::Data<Platform>;

/// List triggers
#[utoipa::path(
    tag = "triggers",
    operation_id = "listTriggers",
    params(TriggersQuery),
    responses(
        (status = 200, description = "Triggers by pipeline and name.", body = TriggerList),
        (status = 400, description = "Unknown query parameter.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/triggers")]
async fn list_triggers(
    platform: Data,
    query: web::Query<TriggersQuery>,
) -> ApiResult<HttpResponse> {
    let triggers = platform.triggers.list(query.pipeline.as_deref()).await?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &TriggerList { triggers },
    ))
}

/// Create a trigger for a pipeline
///
/// Checked against the pipeline (variables, the file variable) before it is stored. A cron or interval trigger is scheduled from the scheduler's next tick; a file trigger fires for files that appear after it is enabled.
#[utoipa::path(
    tag = "triggers",
    operation_id = "createTrigger",
    params(
        ("name" = String, Path, description = "Pipeline name.", example = "demo_mlops")
    ),
    request_body(content = TriggerFields, examples(
                ("cron" = (summary = "Nightly at 2 AM in Paris", value = json!({"name": "nightly", "kind": "cron", "cron": "0 2 * * *", "timezone": "Europe/Paris", "variables": {"rows": 5000}}))),
                ("file" = (summary = "A CSV dropped in a folder", value = json!({"name": "on_upload", "kind": "file", "path": "incoming", "pattern": "*.csv"})))
            )),
    responses(
        (status = 201, description = "Created.", body = Trigger),
        (status = 400, description = "Bad field: kind, cron, timezone, every_secs, a setting of another kind, unknown variable.", body = ErrorBody, example = json!({"message": "cron: \"0 2 * *\" is not a cron expression", "code": "invalid_input", "type": "invalid_request", "field": "cron"})),
        (status = 404, description = "No such pipeline.", body = ErrorBody),
        (status = 409, description = "The pipeline already has a trigger of that name.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/pipelines/{name}/triggers")]
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

/// One trigger
#[utoipa::path(
    tag = "triggers",
    operation_id = "getTrigger",
    params(
        ("id" = String, Path, description = "Trigger id: `<pipeline>.<name>`.", example = "demo_mlops.weekly_retrain")
    ),
    responses(
        (status = 200, description = "The trigger.", body = Trigger),
        (status = 404, description = "No such trigger.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/triggers/{id}")]
async fn get_trigger(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.triggers.get(&id).await?))
}

/// Enable or disable a trigger
#[utoipa::path(
    tag = "triggers",
    operation_id = "updateTrigger",
    params(
        ("id" = String, Path, description = "Trigger id: `<pipeline>.<name>`.", example = "demo_mlops.weekly_retrain")
    ),
    request_body(content = TriggerUpdate, example = json!({"enabled": false})),
    responses(
        (status = 200, description = "The trigger.", body = Trigger),
        (status = 400, description = "Bad body.", body = ErrorBody),
        (status = 404, description = "No such trigger.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[patch("/triggers/{id}")]
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

/// Delete a trigger
#[utoipa::path(
    tag = "triggers",
    operation_id = "deleteTrigger",
    params(
        ("id" = String, Path, description = "Trigger id: `<pipeline>.<name>`.", example = "demo_mlops.weekly_retrain")
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such trigger.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[delete("/triggers/{id}")]
async fn delete_trigger(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    platform.triggers.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Fire a trigger now (the API trigger)
///
/// Starts a run with the trigger's variables, overridden by the body's. Refused when the trigger is disabled or the pipeline is at its `max_concurrent_runs`.
#[utoipa::path(
    tag = "triggers",
    operation_id = "fireTrigger",
    params(
        ("id" = String, Path, description = "Trigger id: `<pipeline>.<name>`.", example = "demo_mlops.weekly_retrain")
    ),
    request_body(content = Option<TriggerRequest>, example = json!({"variables": {"seed": 7}})),
    responses(
        (status = 202, description = "Queued.", body = TriggerResponse),
        (status = 400, description = "Bad body or variables.", body = ErrorBody),
        (status = 404, description = "No such trigger.", body = ErrorBody),
        (status = 409, description = "Disabled, or the pipeline is at its run limit.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/triggers/{id}/runs")]
async fn fire_trigger(
    platform: Data,
    id: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let request: TriggerRequest = optional_body(payload).await?;
    Ok(accepted(
        &platform
            .triggers
            .fire_trigger(&id, request.variables)
            .await?,
    ))
}

/// Cancel a run
///
/// A queued run ends `cancelled` at once. A running run is flagged; its executor drops the running blocks (killing a command's process) within moments and the run ends `cancelled`.
#[utoipa::path(
    tag = "runs",
    operation_id = "cancelRun",
    params(
        ("id" = String, Path, description = "Run id.", example = "1557d247dc3f42b880d6272216198066")
    ),
    responses(
        (status = 202, description = "Cancelled or being cancelled.", body = CancelResponse),
        (status = 404, description = "No such run.", body = ErrorBody),
        (status = 409, description = "The run already ended.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/runs/{id}/cancel")]
async fn cancel_run(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let run = platform.runs.cancel_run(&id).await?;
    Ok(sorted_json(
        &mut HttpResponse::Accepted(),
        &CancelResponse {
            cancel_requested: true,
            run_id: run.id,
            status: run.status,
        },
    ))
}

/// Re-run a failed run from its failed block
///
/// A new run with the same variables: blocks that succeeded in the failed run are not run again when their kind, resolved config and inputs are unchanged (their stored outputs are reused); the failed block and everything after it run.
#[utoipa::path(
    tag = "runs",
    operation_id = "rerunRun",
    params(
        ("id" = String, Path, description = "Run id.", example = "1557d247dc3f42b880d6272216198066")
    ),
    responses(
        (status = 202, description = "Queued.", body = TriggerResponse),
        (status = 404, description = "No such run.", body = ErrorBody),
        (status = 409, description = "The run did not fail (only failed or cancelled runs are re-run).", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/runs/{id}/rerun")]
async fn rerun(platform: Data, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(accepted(&platform.runs.rerun(&id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TriggersQuery {
    /// Only this pipeline's.
    pipeline: Option<String>,
}

/// Triggers.
#[derive(Serialize, ToSchema)]
struct TriggerList {
    triggers: Vec<Trigger>,
}

/// Turn a trigger on or off.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TriggerUpdate {
    enabled: bool,
}

/// A cancel was asked for.
#[derive(Serialize, ToSchema)]
struct CancelResponse {
    cancel_requested: bool,
    run_id: String,
    status: RunStatus,
}
