//! `/api/2.0/mlflow/experiments/...`

use super::common::{body, empty, number, page, query, required, tags, Data, MlResult, Tag};
use super::filter::matches_name;
use super::json;
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::store::{KeyValue, ViewType};
use serde::Deserialize;
use serde_json::json as j;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/experiments/get-by-name", web::get().to(get_by_name))
        .route("/experiments/get", web::get().to(get))
        .route("/experiments/create", web::post().to(create))
        .route("/experiments/search", web::post().to(search))
        .route("/experiments/search", web::get().to(search_get))
        .route("/experiments/set-experiment-tag", web::post().to(set_tag))
        .route("/experiments/delete", web::post().to(delete))
        .route("/experiments/restore", web::post().to(restore));
}

#[derive(Deserialize)]
struct ByName {
    experiment_name: Option<String>,
}

async fn get_by_name(platform: Data, req: HttpRequest) -> MlResult {
    let q: ByName = query(&req)?;
    let name = required(&q.experiment_name, "experiment_name")?;
    let e = platform.tracking.experiment_by_name(name).await?;
    Ok(HttpResponse::Ok().json(j!({"experiment": json::experiment(&e)})))
}

#[derive(Deserialize)]
struct ById {
    experiment_id: Option<String>,
}

async fn get(platform: Data, req: HttpRequest) -> MlResult {
    let q: ById = query(&req)?;
    let id = number(
        required(&q.experiment_id, "experiment_id")?,
        "experiment_id",
    )?;
    let e = platform.tracking.experiment(id).await?;
    Ok(HttpResponse::Ok().json(j!({"experiment": json::experiment(&e)})))
}

#[derive(Deserialize)]
struct Create {
    name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn create(platform: Data, payload: web::Payload) -> MlResult {
    let b: Create = body(payload).await?;
    let name = required(&b.name, "name")?;
    let id = platform
        .tracking
        .create_experiment(name, &tags(&b.tags))
        .await?;
    Ok(HttpResponse::Ok().json(j!({"experiment_id": id.to_string()})))
}

#[derive(Deserialize, Default)]
struct Search {
    max_results: Option<i64>,
    view_type: Option<String>,
    page_token: Option<String>,
    filter: Option<String>,
}

async fn search(platform: Data, payload: web::Payload) -> MlResult {
    run_search(platform, body(payload).await?).await
}

async fn search_get(platform: Data, req: HttpRequest) -> MlResult {
    run_search(platform, query(&req)?).await
}

async fn run_search(platform: Data, s: Search) -> MlResult {
    let view = ViewType::parse(s.view_type.as_deref(), "view_type")?;
    let (offset, limit) = page(s.page_token.as_deref(), s.max_results, 1000)?;
    // A name filter (`name = 'x'`, `name LIKE '%x%'`) is applied here; others are refused.
    let clauses = ironmage_core::store::parse_filter(s.filter.as_deref().unwrap_or(""))?;
    let mut all = platform
        .tracking
        .search_experiments(view, 0, i64::MAX / 2)
        .await?;
    for c in &clauses {
        all.retain(|e| matches_name(c, &e.name, &e.tags).unwrap_or(false));
    }
    let page: Vec<_> = all
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    let mut out = j!({"experiments": page.iter().map(|e| json::experiment(e)).collect::<Vec<_>>()});
    if (offset + limit) < all.len() as i64 {
        out["next_page_token"] = j!((offset + limit).to_string());
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
struct SetTag {
    experiment_id: Option<String>,
    key: Option<String>,
    #[serde(default)]
    value: String,
}

async fn set_tag(platform: Data, payload: web::Payload) -> MlResult {
    let b: SetTag = body(payload).await?;
    let id = number(
        required(&b.experiment_id, "experiment_id")?,
        "experiment_id",
    )?;
    let key = required(&b.key, "key")?;
    platform
        .tracking
        .set_experiment_tag(id, &KeyValue::new(key, b.value))
        .await?;
    Ok(empty())
}

async fn delete(platform: Data, payload: web::Payload) -> MlResult {
    lifecycle(platform, payload, "deleted").await
}

async fn restore(platform: Data, payload: web::Payload) -> MlResult {
    lifecycle(platform, payload, "active").await
}

async fn lifecycle(platform: Data, payload: web::Payload, stage: &str) -> MlResult {
    let b: ById = body(payload).await?;
    let id = number(
        required(&b.experiment_id, "experiment_id")?,
        "experiment_id",
    )?;
    platform
        .tracking
        .set_experiment_lifecycle(id, stage)
        .await?;
    Ok(empty())
}
