//! `/api/2.0/mlflow/logged-models/...`: MLflow 3's logged models.

use super::common::{body, empty, number, page, required, Data, MlResult};
use super::common::{tags, Tag};
use super::json;
use actix_web::{web, HttpResponse};
use ironmage_core::store::{parse_filter, Entity, Literal};
use ironmage_core::Error;
use serde::Deserialize;
use serde_json::json as j;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/logged-models", web::post().to(create))
        .route("/logged-models/search", web::post().to(search))
        .route("/logged-models/{id}", web::get().to(get))
        .route("/logged-models/{id}", web::patch().to(finalize))
        .route("/logged-models/{id}/tags", web::patch().to(set_tags));
}

#[derive(Deserialize)]
struct Create {
    experiment_id: Option<String>,
    #[serde(default)]
    name: String,
    source_run_id: Option<String>,
    #[serde(default)]
    model_type: String,
    #[serde(default)]
    params: Vec<Tag>,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn create(platform: Data, payload: web::Payload) -> MlResult {
    let b: Create = body(payload).await?;
    let experiment_id = number(
        required(&b.experiment_id, "experiment_id")?,
        "experiment_id",
    )?;
    let name = if b.name.is_empty() { "model" } else { &b.name };
    let model = platform
        .tracking
        .create_logged_model(
            experiment_id,
            name,
            b.source_run_id.as_deref().filter(|r| !r.is_empty()),
            &b.model_type,
            &tags(&b.params),
            &tags(&b.tags),
        )
        .await?;
    Ok(HttpResponse::Ok().json(j!({"model": json::logged_model(&model)})))
}

async fn get(platform: Data, id: web::Path<String>) -> MlResult {
    let model = platform.tracking.logged_model(&id).await?;
    Ok(HttpResponse::Ok().json(j!({"model": json::logged_model(&model)})))
}

#[derive(Deserialize)]
struct Finalize {
    status: Option<String>,
}

async fn finalize(platform: Data, id: web::Path<String>, payload: web::Payload) -> MlResult {
    let b: Finalize = body(payload).await?;
    let model = platform
        .tracking
        .set_logged_model_status(&id, required(&b.status, "status")?)
        .await?;
    Ok(HttpResponse::Ok().json(j!({"model": json::logged_model(&model)})))
}

#[derive(Deserialize)]
struct SetTags {
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn set_tags(platform: Data, id: web::Path<String>, payload: web::Payload) -> MlResult {
    let b: SetTags = body(payload).await?;
    platform
        .tracking
        .set_logged_model_tags(&id, &tags(&b.tags))
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: String,
    max_results: Option<i64>,
    page_token: Option<String>,
}

async fn search(platform: Data, payload: web::Payload) -> MlResult {
    let b: Search = body(payload).await?;
    let (offset, limit) = page(b.page_token.as_deref(), b.max_results, 100)?;
    let experiment_ids = b
        .experiment_ids
        .iter()
        .map(|id| number(id, "experiment_ids"))
        .collect::<Result<Vec<_>, _>>()?;
    // The client filters by name only (`name = 'model'`); that is the filter supported here.
    let mut name = None;
    for clause in parse_filter(&b.filter)? {
        match (&clause.entity, clause.op.as_str(), &clause.value) {
            (Entity::Attribute(a), "=", Literal::Text(v)) if a == "name" => name = Some(v.clone()),
            _ => {
                return Err(Error::invalid_field(
                    "filter",
                    format!(
                        "unsupported logged model filter {:?}: only name = '...' is supported",
                        b.filter
                    ),
                )
                .into())
            }
        }
    }
    let models = platform
        .tracking
        .search_logged_models(&experiment_ids, name.as_deref(), offset, limit + 1)
        .await?;
    let mut out = j!({});
    if !models.is_empty() {
        out["models"] = models
            .iter()
            .take(limit as usize)
            .map(json::logged_model)
            .collect();
    }
    if models.len() as i64 > limit {
        out["next_page_token"] = j!((offset + limit).to_string());
    }
    Ok(HttpResponse::Ok().json(out))
}
