//! `/api/2.0/mlflow/registered-models/...` and `/model-versions/...` over ironmage's registry.
//! Stage changes go through the platform's transition (audited, one Production per model).

use super::common::{body, empty, number, page, query, required, Data, MlResult, MlflowError};
use super::common::{tags, Tag};
use super::filter::matches_name;
use super::json;
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::store::{parse_filter, ModelVersion, Stage};
use ironmage_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::{json as j, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/registered-models/create", web::post().to(create_model))
        .route("/registered-models/get", web::get().to(get_model))
        .route("/registered-models/search", web::get().to(search_models))
        .route("/registered-models/update", web::patch().to(update_model))
        .route("/registered-models/set-tag", web::post().to(set_model_tag))
        .route(
            "/registered-models/delete-tag",
            web::delete().to(delete_model_tag),
        )
        .route(
            "/registered-models/get-latest-versions",
            web::post().to(latest_versions),
        )
        .route(
            "/registered-models/get-latest-versions",
            web::get().to(latest_versions_get),
        )
        .route("/registered-models/alias", web::post().to(set_alias))
        .route("/registered-models/alias", web::get().to(get_alias))
        .route("/registered-models/alias", web::delete().to(delete_alias));
}

/// MLflow's fields naming a model and a version.
#[derive(Deserialize, Default)]
pub(super) struct Target {
    pub name: Option<String>,
    pub version: Option<Value>,
    pub alias: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub description: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub archive_existing_versions: Option<Value>,
    #[serde(default)]
    pub stages: Vec<String>,
}

impl Target {
    pub(super) fn name(&self) -> Result<&str, MlflowError> {
        required(&self.name, "name")
    }

    pub(super) fn version(&self) -> Result<i64, MlflowError> {
        match &self.version {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad_version(&n.to_string())),
            Some(Value::String(s)) => number(s, "version"),
            _ => required(&None, "version").map(|_| 0),
        }
    }
}

fn bad_version(v: &str) -> MlflowError {
    Error::invalid(format!(
        "Invalid value '{v}' for parameter 'version': expected an integer"
    ))
    .into()
}

/// A version as MLflow shows it, with its description, tags and aliases.
pub(super) async fn version_json(platform: &Data, v: &ModelVersion) -> Result<Value, MlflowError> {
    let meta = platform
        .registry
        .read()
        .version_meta(&v.model, v.version)
        .await?;
    Ok(json::version(v, &meta))
}

/// Read a version, answering MLflow's message when it is missing.
pub(super) async fn find_version(
    platform: &Data,
    name: &str,
    version: i64,
) -> Result<ModelVersion, MlflowError> {
    platform
        .registry
        .read()
        .version(name, version)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::NotFound {
                Error::not_found(format!(
                    "Model Version (name={name}, version={version}) not found"
                ))
                .into()
            } else {
                e.into()
            }
        })
}

/// The newest version in each stage (all stages when `stages` is empty).
async fn latest(platform: &Data, name: &str, stages: &[String]) -> Result<Vec<Value>, MlflowError> {
    platform.registry.read().registered_model(name).await?;
    let wanted = stages
        .iter()
        .map(|s| stage(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut versions = platform.registry.read().versions(name).await?; // newest first
    versions.sort_by_key(|v| v.version);
    let mut out = Vec::new();
    for s in [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ] {
        if !wanted.is_empty() && !wanted.contains(&s) {
            continue;
        }
        if let Some(v) = versions.iter().rev().find(|v| v.stage == s) {
            out.push(version_json(platform, v).await?);
        }
    }
    Ok(out)
}

pub(super) fn stage(text: &str) -> Result<Stage, MlflowError> {
    Stage::parse_user(text).map_err(|_| {
        Error::invalid(format!(
            "Invalid Model Version stage: {text}. Value must be one of None, Staging, Production, Archived."
        ))
        .into()
    })
}

async fn model_json(platform: &Data, name: &str) -> Result<Value, MlflowError> {
    let model = platform.registry.read().registered_model(name).await?;
    let latest = latest(platform, name, &[]).await?;
    Ok(json::registered_model(&model, latest))
}

#[derive(Deserialize)]
struct CreateModel {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn create_model(platform: Data, payload: web::Payload) -> MlResult {
    let b: CreateModel = body(payload).await?;
    let name = required(&b.name, "name")?;
    platform
        .registry
        .create_registered_model(name, &b.description, &tags(&b.tags))
        .await?;
    Ok(HttpResponse::Ok().json(j!({"registered_model": model_json(&platform, name).await?})))
}

async fn get_model(platform: Data, req: HttpRequest) -> MlResult {
    let t: Target = query(&req)?;
    Ok(HttpResponse::Ok().json(j!({"registered_model": model_json(&platform, t.name()?).await?})))
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    pub filter: Option<String>,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

async fn search_models(platform: Data, req: HttpRequest) -> MlResult {
    let q: SearchQuery = query(&req)?;
    let (offset, limit) = page(q.page_token.as_deref(), q.max_results, 100)?;
    let clauses = parse_filter(q.filter.as_deref().unwrap_or(""))?;
    let mut found = Vec::new();
    for name in platform.registry.read().registered_model_names().await? {
        let model = platform.registry.read().registered_model(&name).await?;
        let mut keep = true;
        for c in &clauses {
            keep &= matches_name(c, &model.name, &model.tags)?;
        }
        if keep {
            found.push(name);
        }
    }
    let mut out = j!({});
    let mut shown = Vec::new();
    for name in found.iter().skip(offset as usize).take(limit as usize) {
        shown.push(model_json(&platform, name).await?);
    }
    if !shown.is_empty() {
        out["registered_models"] = Value::Array(shown);
    }
    if ((offset + limit) as usize) < found.len() {
        out["next_page_token"] = j!((offset + limit).to_string());
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn update_model(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let name = t.name()?;
    platform
        .registry
        .set_model_description(name, t.description.as_deref().unwrap_or(""))
        .await?;
    Ok(HttpResponse::Ok().json(j!({"registered_model": model_json(&platform, name).await?})))
}

async fn set_model_tag(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let value = t.value.clone().unwrap_or_default();
    platform
        .registry
        .set_model_tag(t.name()?, required(&t.key, "key")?, Some(&value))
        .await?;
    Ok(empty())
}

async fn delete_model_tag(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    platform
        .registry
        .set_model_tag(t.name()?, required(&t.key, "key")?, None)
        .await?;
    Ok(empty())
}

async fn latest_versions(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let versions = latest(&platform, t.name()?, &t.stages).await?;
    Ok(HttpResponse::Ok().json(j!({"model_versions": versions})))
}

/// `GET …/get-latest-versions?name=m&stages=Production&stages=Staging`: MLflow's clients repeat
/// `stages` once per stage, which a struct of the query cannot hold, so the pairs are read as
/// they come.
async fn latest_versions_get(platform: Data, req: HttpRequest) -> MlResult {
    let pairs: Vec<(String, String)> = query(&req)?;
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone());
    let stages: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "stages")
        .map(|(_, v)| v)
        .collect();
    let versions = latest(&platform, required(&name, "name")?, &stages).await?;
    Ok(HttpResponse::Ok().json(j!({"model_versions": versions})))
}

async fn set_alias(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let (name, version) = (t.name()?, t.version()?);
    find_version(&platform, name, version).await?;
    platform
        .registry
        .set_alias(name, required(&t.alias, "alias")?, version)
        .await?;
    Ok(empty())
}

async fn get_alias(platform: Data, req: HttpRequest) -> MlResult {
    let t: Target = query(&req)?;
    let v = platform
        .registry
        .read()
        .alias_version(t.name()?, required(&t.alias, "alias")?)
        .await?;
    Ok(HttpResponse::Ok().json(j!({"model_version": version_json(&platform, &v).await?})))
}

async fn delete_alias(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    platform
        .registry
        .delete_alias(t.name()?, required(&t.alias, "alias")?)
        .await?;
    Ok(empty())
}
