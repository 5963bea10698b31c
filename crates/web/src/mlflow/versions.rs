//! `/api/2.0/mlflow/model-versions/...` over ironmage's registry. Stage changes go through the
//! platform's transition (audited, one Production per model, enforced by the database).

use super::common::{body, empty, page, query, required, Data, MlResult};
use super::common::{tags, Tag};
use super::json;
use super::registry::{find_version, stage, version_json, SearchQuery, Target};
use actix_web::{web, HttpRequest, HttpResponse};
use ironmage_core::store::Stage;
use ironmage_core::Error;
use serde::Deserialize;
use serde_json::{json as j, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/model-versions/create", web::post().to(create_version))
        .route("/model-versions/get", web::get().to(get_version))
        .route("/model-versions/search", web::get().to(search_versions))
        .route(
            "/model-versions/transition-stage",
            web::post().to(transition),
        )
        .route("/model-versions/update", web::patch().to(update_version))
        .route("/model-versions/set-tag", web::post().to(set_version_tag))
        .route(
            "/model-versions/delete-tag",
            web::delete().to(delete_version_tag),
        )
        .route(
            "/model-versions/get-download-uri",
            web::get().to(download_uri),
        )
        .route("/model-versions/delete", web::delete().to(delete_version));
}

#[derive(Deserialize)]
struct CreateVersion {
    name: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    model_id: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

async fn create_version(platform: Data, payload: web::Payload) -> MlResult {
    let b: CreateVersion = body(payload).await?;
    let name = required(&b.name, "name")?;
    let source = required(&b.source, "source")?;
    let model_id = b.model_id.clone().filter(|m| !m.is_empty()).or_else(|| {
        source
            .strip_prefix("models:/")
            .filter(|m| m.starts_with("m-"))
            .map(str::to_string)
    });
    // The run: as given, or the logged model's source run.
    let mut run_id = b.run_id.clone().filter(|r| !r.is_empty());
    if let Some(id) = &model_id {
        let logged = platform.tracking.logged_model(id).await?;
        run_id = run_id.or(logged.source_run_id);
    }
    let v = platform
        .registry
        .create_mlflow_version(name, source, run_id.as_deref(), model_id.as_deref())
        .await?;
    if !b.description.is_empty() {
        platform
            .registry
            .set_version_description(name, v.version, &b.description)
            .await?;
    }
    for tag in tags(&b.tags) {
        platform
            .registry
            .set_version_tag(name, v.version, &tag.key, Some(&tag.value))
            .await?;
    }
    Ok(HttpResponse::Ok().json(j!({"model_version": version_json(&platform, &v).await?})))
}

async fn get_version(platform: Data, req: HttpRequest) -> MlResult {
    let t: Target = query(&req)?;
    let v = find_version(&platform, t.name()?, t.version()?).await?;
    Ok(HttpResponse::Ok().json(j!({"model_version": version_json(&platform, &v).await?})))
}

async fn search_versions(platform: Data, req: HttpRequest) -> MlResult {
    let q: SearchQuery = query(&req)?;
    let (offset, limit) = page(q.page_token.as_deref(), q.max_results, 10_000)?;
    let filter = q.filter.as_deref().unwrap_or("");
    let (found, more) = platform
        .registry
        .read()
        .search_versions(filter, offset, limit)
        .await?;
    let mut out = j!({});
    if !found.is_empty() {
        out["model_versions"] = Value::Array(
            found
                .iter()
                .map(|(v, meta)| json::version(v, meta))
                .collect(),
        );
    }
    if more {
        out["next_page_token"] = j!((offset + limit).to_string());
    }
    Ok(HttpResponse::Ok().json(out))
}

fn truthy(v: &Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Move a version to a stage through the platform (audited; moving to Production archives
/// the previous Production version in the same transaction, whatever the flag says, since
/// ironmage keeps one Production version per model). With `archive_existing_versions`, the
/// other versions in a Staging target are archived too, as MLflow does.
async fn transition(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let (name, version) = (t.name()?, t.version()?);
    let to = stage(required(&t.stage, "stage")?)?;
    let current = find_version(&platform, name, version).await?;
    let reason = format!("MLflow transition-stage to {}", to.as_str());
    let moved = if current.stage == to {
        current
    } else {
        platform
            .registry
            .transition(name, version, to, "mlflow", &reason)
            .await?
    };
    if truthy(&t.archive_existing_versions) && to == Stage::Staging {
        for other in platform.registry.read().versions(name).await? {
            if other.version != version && other.stage == Stage::Staging {
                let why = format!("archived: version {version} moved to Staging");
                platform
                    .registry
                    .transition(name, other.version, Stage::Archived, "mlflow", &why)
                    .await?;
            }
        }
    }
    Ok(HttpResponse::Ok().json(j!({"model_version": version_json(&platform, &moved).await?})))
}

async fn update_version(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let (name, version) = (t.name()?, t.version()?);
    find_version(&platform, name, version).await?;
    if let Some(d) = &t.description {
        platform
            .registry
            .set_version_description(name, version, d)
            .await?;
    }
    let v = find_version(&platform, name, version).await?;
    Ok(HttpResponse::Ok().json(j!({"model_version": version_json(&platform, &v).await?})))
}

async fn set_version_tag(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let (name, version) = (t.name()?, t.version()?);
    find_version(&platform, name, version).await?;
    let value = t.value.clone().unwrap_or_default();
    platform
        .registry
        .set_version_tag(name, version, required(&t.key, "key")?, Some(&value))
        .await?;
    Ok(empty())
}

async fn delete_version_tag(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let (name, version) = (t.name()?, t.version()?);
    find_version(&platform, name, version).await?;
    platform
        .registry
        .set_version_tag(name, version, required(&t.key, "key")?, None)
        .await?;
    Ok(empty())
}

/// MLflow deletes a version for good; ironmage's registry takes it out of every listing (its
/// number is never reused and the audit log keeps the deletion) and refuses a Production
/// version (409).
async fn delete_version(platform: Data, payload: web::Payload) -> MlResult {
    let t: Target = body(payload).await?;
    let (name, version) = (t.name()?, t.version()?);
    find_version(&platform, name, version).await?;
    platform
        .registry
        .delete_version(name, version, "mlflow", "MLflow delete-model-version")
        .await?;
    Ok(empty())
}

/// Where a version's files are: the logged model's folder, or the run's artifact path; for a
/// version a pipeline trained, the MLflow model folder written beside it.
async fn download_uri(platform: Data, req: HttpRequest) -> MlResult {
    let t: Target = query(&req)?;
    let v = find_version(&platform, t.name()?, t.version()?).await?;
    let Some(source) = v.mlflow_source() else {
        let folder = v.mlflow_folder().ok_or_else(|| {
            Error::invalid_field(
                "version",
                format!("version {} of {} was trained by ironmage before it wrote MLflow model folders: its files are an ironmage model bundle only (see /api/models); register a new version to load it with MLflow", v.version, v.model),
            )
        })?;
        return Ok(HttpResponse::Ok()
            .json(j!({"artifact_uri": format!("mlflow-artifacts:/{}", folder.folder)})));
    };
    // A source elsewhere (s3://, a local path) is where the client put the files.
    let uri = match platform.tracking.model_folder(&source).await {
        Ok(folder) => format!("mlflow-artifacts:/{folder}"),
        Err(e) if e.code == ironmage_core::ErrorCode::InvalidInput => source.source,
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().json(j!({"artifact_uri": uri})))
}
