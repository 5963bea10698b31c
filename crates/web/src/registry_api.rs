//! REST handlers of the registry workflows under `/api/models/{name}/…`: policy, approval
//! requests, rollback, compare, keep-latest-N and deletion. Mounted by `api::routes`.
//!
//! Who acts: the `X-Ironmage-User` header, else the body's `actor`/`user` field, else `api`.

use crate::extract::{actor, body, typed_body, BODY_LIMIT};
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::store::{Gate, PolicySettings, DEFAULT_APPROVALS};
use ironmage_core::Platform;
use serde::Deserialize;
use serde_json::json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}/policy", web::get().to(get_policy))
        .route("/models/{name}/policy", web::put().to(put_policy))
        .route("/models/{name}/requests", web::get().to(list_requests))
        .route("/models/{name}/requests", web::post().to(create_request))
        .route("/models/{name}/requests/{id}", web::get().to(get_request))
        .route(
            "/models/{name}/requests/{id}/approve",
            web::post().to(approve),
        )
        .route(
            "/models/{name}/requests/{id}/reject",
            web::post().to(reject),
        )
        .route("/models/{name}/rollback", web::post().to(rollback))
        .route("/models/{name}/compare", web::get().to(compare))
        .route("/models/{name}/keep-latest", web::post().to(keep_latest))
        .route(
            "/models/{name}/versions/{version}",
            web::delete().to(delete_version),
        );
}

type Data = web::Data<Platform>;

async fn get_policy(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.registry.read().policy(&name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    #[serde(default)]
    gates: Vec<Gate>,
    #[serde(default = "default_approvals")]
    required_approvals: i64,
    keep_latest_n: Option<i64>,
    actor: Option<String>,
}

fn default_approvals() -> i64 {
    DEFAULT_APPROVALS
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestsQuery {
    status: Option<String>,
}

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
    Ok(HttpResponse::Ok().json(json!({"requests": requests})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRequestBody {
    version: i64,
    reason: String,
    requested_by: Option<String>,
}

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

async fn get_request(platform: Data, path: web::Path<(String, i64)>) -> ApiResult<HttpResponse> {
    let (name, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(platform.registry.read().approval_request(&name, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    user: Option<String>,
    #[serde(default)]
    comment: String,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    user: Option<String>,
    reason: String,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    version: i64,
    reason: String,
    actor: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareQuery {
    a: i64,
    b: i64,
}

async fn compare(
    platform: Data,
    name: web::Path<String>,
    query: web::Query<CompareQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(platform.registry.compare(&name, query.a, query.b).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeepLatestBody {
    n: Option<i64>,
    actor: Option<String>,
}

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
    Ok(HttpResponse::Ok().json(json!({"archived": archived})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    reason: String,
    actor: Option<String>,
}

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
    Ok(HttpResponse::Ok().json(json!({"deleted": {"model": name, "version": version}})))
}
