//! REST handlers of the registry workflows under `/api/models/{name}/…`: policy, approval
//! requests, rollback, compare, keep-latest-N and deletion. Mounted by `api::routes`.
//!
//! Who acts: the `X-Ironmage-User` header, else the body's `actor`/`user` field, else `api`.

use crate::extract::{actor, body, typed_body, ActingUser, BODY_LIMIT};
use crate::openapi::Internal;
use crate::respond::sorted_json;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use ironmage_core::error::ErrorBody;
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::store::{
    ApprovalOutcome, ApprovalRequest, Gate, ModelVersion, Policy, PolicySettings, DEFAULT_APPROVALS,
};
use ironmage_core::version_compare::Comparison;
use ironmage_core::Platform;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_policy)
        .service(put_policy)
        .service(list_requests)
        .service(create_request)
        .service(get_request)
        .service(approve)
        .service(reject)
        .service(rollback)
        .service(compare)
        .service(keep_latest)
        .service(delete_version);
}

type Data = web::Data<Platform>;

/// A model's policy (defaults when never set)
#[utoipa::path(
    tag = "registry",
    operation_id = "getModelPolicy",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn")
    ),
    responses(
        (status = 200, description = "The policy.", body = Policy),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/policy")]
async fn get_policy(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.registry.read().policy(&name).await?))
}

/// Set a model's validation gates, required approvals and keep-latest-N
///
/// A policy may be set before the model's first version. Gates are evaluated at each registration: all pass → Staging (actor `gate`), any fails → stays None with `gate_reason`.
#[utoipa::path(
    tag = "registry",
    operation_id = "setModelPolicy",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ActingUser
    ),
    request_body(content = PolicyBody, example = json!({"gates": [{"metric": "auc_score", "op": ">=", "threshold": 0.85}], "required_approvals": 2, "keep_latest_n": 5, "actor": "alice"})),
    responses(
        (status = 200, description = "The stored policy.", body = Policy),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/models/{name}/policy")]
async fn put_policy(
    platform: Data,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b: PolicyBody = body(payload).await?;
    let who = actor(&req, b.actor)?;
    let settings = PolicySettings {
        gates: b.gates,
        required_approvals: b.required_approvals,
        keep_latest_n: b.keep_latest_n,
    };
    Ok(HttpResponse::Ok().json(platform.registry.set_policy(&name, &settings, &who).await?))
}

/// A model's approval requests, newest first
#[utoipa::path(
    tag = "registry",
    operation_id = "listApprovalRequests",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        RequestsQuery
    ),
    responses(
        (status = 200, description = "The requests.", body = RequestList),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/requests")]
async fn list_requests(
    platform: Data,
    name: web::Path<String>,
    query: web::Query<RequestsQuery>,
) -> ApiResult<HttpResponse> {
    // An unknown model is a 404, not an empty list.
    platform.registry.read().policy(&name).await?;
    let requests = platform
        .registry
        .read()
        .approval_requests(&name, query.status.as_deref())
        .await?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &RequestList { requests },
    ))
}

/// Ask for a Staging version to go to Production
///
/// Needs the model's policy to require approvals (default 1). One pending request per version.
#[utoipa::path(
    tag = "registry",
    operation_id = "requestPromotion",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ActingUser
    ),
    request_body(content = NewRequestBody, example = json!({"version": 2, "reason": "AUC up 3 points on the holdout", "requested_by": "alice"})),
    responses(
        (status = 201, description = "The open request.", body = ApprovalRequest),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 409, description = "Illegal in the current state (e.g. the version left Staging, the request is closed, the user already approved, the version is in Production).", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/models/{name}/requests")]
async fn create_request(
    platform: Data,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b: NewRequestBody = body(payload).await?;
    let who = actor(&req, b.requested_by)?;
    let request = platform
        .registry
        .request_promotion(&name, b.version, &b.reason, &who)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/models/{}/requests/{}", name.as_str(), request.id),
        ))
        .json(request))
}

/// One approval request
#[utoipa::path(
    tag = "registry",
    operation_id = "getApprovalRequest",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("id" = i64, Path, description = "Approval request id.", example = 1)
    ),
    responses(
        (status = 200, description = "The request.", body = ApprovalRequest),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/requests/{id}")]
async fn get_request(platform: Data, path: web::Path<(String, i64)>) -> ApiResult<HttpResponse> {
    let (name, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(platform.registry.read().approval_request(&name, id).await?))
}

/// Approve a pending request (once per user); the N-th approval promotes
///
/// The promotion (and the archiving of the previous Production version) happens in the same transaction as the last approval. 409 when the version left Staging.
#[utoipa::path(
    tag = "registry",
    operation_id = "approveRequest",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("id" = i64, Path, description = "Approval request id.", example = 1),
        ActingUser
    ),
    request_body(content = ApproveBody, example = json!({"user": "bob", "comment": "checked the drift report"})),
    responses(
        (status = 200, description = "The request after the approval, and the promoted version if any.", body = ApprovalOutcome),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 409, description = "Illegal in the current state (e.g. the version left Staging, the request is closed, the user already approved, the version is in Production).", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/models/{name}/requests/{id}/approve")]
async fn approve(
    platform: Data,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, id) = path.into_inner();
    let b: ApproveBody = body(payload).await?;
    let who = actor(&req, b.user)?;
    Ok(HttpResponse::Ok().json(
        platform
            .registry
            .approve(&name, id, &who, &b.comment)
            .await?,
    ))
}

/// Reject a pending request with a reason
#[utoipa::path(
    tag = "registry",
    operation_id = "rejectRequest",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("id" = i64, Path, description = "Approval request id.", example = 1),
        ActingUser
    ),
    request_body(content = RejectBody, example = json!({"user": "carol", "reason": "recall dropped on new customers"})),
    responses(
        (status = 200, description = "The closed request.", body = ApprovalRequest),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 409, description = "Illegal in the current state (e.g. the version left Staging, the request is closed, the user already approved, the version is in Production).", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/models/{name}/requests/{id}/reject")]
async fn reject(
    platform: Data,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, id) = path.into_inner();
    let b: RejectBody = body(payload).await?;
    let who = actor(&req, b.user)?;
    Ok(HttpResponse::Ok().json(platform.registry.reject(&name, id, &who, &b.reason).await?))
}

/// Bring a previous version back to Production in one call
///
/// Archives the current Production version; audited with reason `rollback: <reason>`. No approval needed.
#[utoipa::path(
    tag = "registry",
    operation_id = "rollbackModel",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ActingUser
    ),
    request_body(content = RollbackBody, example = json!({"version": 1, "reason": "v2 flags too many loyal customers", "actor": "alice"})),
    responses(
        (status = 200, description = "The restored version.", body = ModelVersion),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 409, description = "Illegal in the current state (e.g. the version left Staging, the request is closed, the user already approved, the version is in Production).", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/models/{name}/rollback")]
async fn rollback(
    platform: Data,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b: RollbackBody = body(payload).await?;
    let who = actor(&req, b.actor)?;
    Ok(HttpResponse::Ok().json(
        platform
            .registry
            .rollback(&name, b.version, &who, &b.reason)
            .await?,
    ))
}

/// Two versions side by side: metrics (delta, which is better) and parameters
#[utoipa::path(
    tag = "registry",
    operation_id = "compareVersions",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        CompareQuery
    ),
    responses(
        (status = 200, description = "The comparison.", body = Comparison),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/models/{name}/compare")]
async fn compare(
    platform: Data,
    name: web::Path<String>,
    query: web::Query<CompareQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.registry.compare(&name, query.a, query.b).await?))
}

/// Archive None/Staging versions older than the newest N
///
/// N from the body, else from the policy. Production is never archived by it.
#[utoipa::path(
    tag = "registry",
    operation_id = "keepLatestVersions",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ActingUser
    ),
    request_body(content = Option<KeepLatestBody>, example = json!({"n": 5})),
    responses(
        (status = 200, description = "The archived version numbers.", body = Archived),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/models/{name}/keep-latest")]
async fn keep_latest(
    platform: Data,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let raw = read_body(payload, BODY_LIMIT).await?;
    let b: KeepLatestBody = if raw.iter().all(u8::is_ascii_whitespace) {
        KeepLatestBody::default()
    } else {
        typed_body(&raw)?
    };
    let who = actor(&req, b.actor)?;
    let archived = platform.registry.keep_latest(&name, b.n, &who).await?;
    Ok(sorted_json(&mut HttpResponse::Ok(), &Archived { archived }))
}

/// Delete a version that is not in Production
///
/// The version leaves every listing, its number is never reused, its pending request is closed, and the audit log records `<stage> → Deleted`.
#[utoipa::path(
    tag = "registry",
    operation_id = "deleteVersion",
    params(
        ("name" = String, Path, description = "Registered model name.", example = "churn"),
        ("version" = i64, Path, description = "Version number (1, 2, 3… per model).", example = 2),
        ActingUser
    ),
    request_body(content = DeleteBody, example = json!({"reason": "trained on the corrupted extract", "actor": "alice"})),
    responses(
        (status = 200, description = "Deleted.", body = Deleted),
        (status = 400, description = "Invalid input; `field` names it.", body = ErrorBody),
        (status = 404, description = "Unknown model, version or request.", body = ErrorBody),
        (status = 409, description = "Illegal in the current state (e.g. the version left Staging, the request is closed, the user already approved, the version is in Production).", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[delete("/models/{name}/versions/{version}")]
async fn delete_version(
    platform: Data,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, version) = path.into_inner();
    let b: DeleteBody = body(payload).await?;
    let who = actor(&req, b.actor)?;
    platform
        .registry
        .delete_version(&name, version, &who, &b.reason)
        .await?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &Deleted {
            deleted: DeletedVersion {
                model: name,
                version,
            },
        },
    ))
}

/// A model's policy: gates, approvals, keep-latest-N.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    /// Validation gates, all of which must pass for automatic Staging.
    #[serde(default)]
    gates: Vec<Gate>,
    /// Approvals a Production promotion needs (0: none, promote directly).
    #[serde(default = "default_approvals")]
    #[schema(minimum = 0, maximum = 10, default = 1)]
    required_approvals: i64,
    /// Keep only the newest N versions out of Archived (Production is never archived by it).
    #[schema(minimum = 1)]
    keep_latest_n: Option<i64>,
    /// Who sets it (the `X-Ironmage-User` header wins).
    actor: Option<String>,
}

fn default_approvals() -> i64 {
    DEFAULT_APPROVALS
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RequestsQuery {
    /// Only requests in this state: `pending`, `approved` or `rejected`.
    #[param(example = "pending")]
    status: Option<String>,
}

/// A model's approval requests.
#[derive(Serialize, ToSchema)]
struct RequestList {
    /// Newest first.
    requests: Vec<ApprovalRequest>,
}

/// Ask for a Staging version to go to Production.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewRequestBody {
    version: i64,
    /// Why; must not be blank.
    reason: String,
    /// Who asks (the `X-Ironmage-User` header wins).
    requested_by: Option<String>,
}

/// Approve a pending request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    /// Who approves (the `X-Ironmage-User` header wins).
    user: Option<String>,
    #[serde(default)]
    comment: String,
}

/// Reject a pending request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    /// Who rejects (the `X-Ironmage-User` header wins).
    user: Option<String>,
    /// Why; must not be blank.
    reason: String,
}

/// Bring an Archived version back to Production.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    version: i64,
    /// Why; must not be blank.
    reason: String,
    /// Who acts (the `X-Ironmage-User` header wins).
    actor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CompareQuery {
    /// The first version.
    #[param(example = 1)]
    a: i64,
    /// The second version.
    #[param(example = 2)]
    b: i64,
}

/// Archive all but the newest N versions.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct KeepLatestBody {
    /// N; the policy's `keep_latest_n` when absent.
    #[schema(minimum = 1)]
    n: Option<i64>,
    /// Who acts (the `X-Ironmage-User` header wins).
    actor: Option<String>,
}

/// What keep-latest archived.
#[derive(Serialize, ToSchema)]
struct Archived {
    /// The archived version numbers.
    archived: Vec<i64>,
}

/// Delete a version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    /// Why; must not be blank.
    reason: String,
    /// Who acts (the `X-Ironmage-User` header wins).
    actor: Option<String>,
}

/// What was deleted.
#[derive(Serialize, ToSchema)]
struct Deleted {
    deleted: DeletedVersion,
}

#[derive(Serialize, ToSchema)]
struct DeletedVersion {
    model: String,
    version: i64,
}
