//! REST handlers that edit the project: create, replace, validate and delete pipelines, and
//! read, write and delete the files beside them (a Python or SQL block's code). A pipeline file
//! is written only once it validates as a run would check it; errors name the field and line.

use crate::api::{pipeline_view, Pipeline};
use crate::extract::{typed_body, BODY_LIMIT};
use crate::openapi::Internal;
use crate::respond::sorted_json;
use actix_web::{delete, get, post, put, web, HttpResponse};
use ironmage_core::error::ErrorBody;
use ironmage_core::http::{read_body, ApiResult};
use ironmage_core::pipeline::project::PipelineFile;
use ironmage_core::{Error, Platform};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_pipeline)
        .service(replace_pipeline)
        .service(validate_pipeline)
        .service(delete_pipeline)
        .service(list_files)
        .service(read_file)
        .service(write_file)
        .service(delete_file);
}

type Data = web::Data<Platform>;

/// Create a pipeline from its YAML
#[utoipa::path(
    tag = "pipelines",
    operation_id = "createPipeline",
    request_body(content = NewPipeline, example = json!({"name": "churn_small", "yaml": "blocks:\n  - {name: load, kind: synthetic_churn, config: {rows: 500}}\n  - {name: prepare, kind: preprocess, upstream: [load]}\n  - {name: train, kind: random_forest_classifier, upstream: [prepare], config: {n_estimators: 20}}\n"})),
    responses(
        (status = 201, description = "Written; the validated pipeline.", body = Pipeline, headers(("Location" = String, description = "`/api/pipelines/<name>`"))),
        (status = 400, description = "The name or the YAML does not validate: the message names the field and the line.", body = ErrorBody, examples(
                ("bad_kind" = (summary = "Unknown block kind", value = json!({"code": "invalid_input", "field": "yaml", "message": "yaml: pipeline churn_small: block train: field kind: unknown block kind \"random_forest\" (known: synthetic_churn, …) (line 4)", "type": "invalid_request"}))),
                ("syntax" = (summary = "YAML syntax", value = json!({"code": "invalid_input", "field": "yaml", "message": "yaml: pipeline churn_small: blocks: did not find expected '-' indicator at line 3 column 3", "type": "invalid_request"})))
            )),
        (status = 409, description = "A pipeline of that name exists.", body = ErrorBody, example = json!({"code": "already_exists", "field": null, "message": "pipeline \"churn_small\" already exists", "type": "invalid_request"})),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/pipelines")]
async fn create_pipeline(platform: Data, payload: web::Payload) -> ApiResult<HttpResponse> {
    let body: NewPipeline = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    let pipeline = platform
        .runs
        .project()
        .save(&body.name, &body.yaml, true)
        .map_err(on_yaml)?;
    Ok(sorted_json(
        HttpResponse::Created()
            .insert_header(("Location", format!("/api/pipelines/{}", body.name))),
        &pipeline_view(&pipeline),
    ))
}

/// Replace a pipeline's YAML
#[utoipa::path(
    tag = "pipelines",
    operation_id = "replacePipeline",
    params(("name" = String, Path, description = "Pipeline name.", example = "my_pipeline")),
    request_body(content = PipelineYaml, example = json!({"yaml": "blocks:\n  - {name: load, kind: synthetic_churn, config: {rows: 800}}\n"})),
    responses(
        (status = 200, description = "Written; the validated pipeline.", body = Pipeline),
        (status = 400, description = "The YAML does not validate (nothing is written).", body = ErrorBody),
        (status = 404, description = "No such pipeline.", body = ErrorBody, example = json!({"code": "not_found", "field": null, "message": "pipeline \"my_pipeline\" not found", "type": "invalid_request"})),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/pipelines/{name}")]
async fn replace_pipeline(
    platform: Data,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body: PipelineYaml = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    let pipeline = platform
        .runs
        .project()
        .save(&name, &body.yaml, false)
        .map_err(on_yaml)?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &pipeline_view(&pipeline),
    ))
}

/// Check a pipeline's YAML without writing it
#[utoipa::path(
    tag = "pipelines",
    operation_id = "validatePipeline",
    params(("name" = String, Path, description = "The pipeline's name (it need not exist yet).", example = "demo_mlops")),
    request_body(content = PipelineYaml, example = json!({"yaml": "blocks:\n  - {name: load, kind: synthetic_churn, config: {rows: -5}}\n"})),
    responses(
        (status = 200, description = "Valid: the pipeline as a run would see it.", body = Pipeline),
        (status = 400, description = "Not valid: the message names the field and the line.", body = ErrorBody, example = json!({"code": "invalid_input", "field": "yaml", "message": "yaml: pipeline demo_mlops: block load: field config.rows: invalid value: integer `-5`, expected usize (line 2)", "type": "invalid_request"})),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[post("/pipelines/{name}/validate")]
async fn validate_pipeline(
    platform: Data,
    name: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body: PipelineYaml = typed_body(&read_body(payload, BODY_LIMIT).await?)?;
    let pipeline = platform
        .runs
        .project()
        .validate(&name, &body.yaml)
        .map_err(on_yaml)?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &pipeline_view(&pipeline),
    ))
}

/// Delete a pipeline and the files of its folder (its runs stay)
#[utoipa::path(
    tag = "pipelines",
    operation_id = "deletePipeline",
    params(("name" = String, Path, description = "Pipeline name.", example = "my_pipeline")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Invalid name.", body = ErrorBody),
        (status = 404, description = "No such pipeline.", body = ErrorBody, example = json!({"code": "not_found", "field": null, "message": "pipeline \"my_pipeline\" not found", "type": "invalid_request"})),
        (status = 500, response = Internal),
    )
)]
#[delete("/pipelines/{name}")]
async fn delete_pipeline(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    platform.runs.project().delete(&name)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The files of a pipeline's folder
#[utoipa::path(
    tag = "pipelines",
    operation_id = "listPipelineFiles",
    params(("name" = String, Path, description = "Pipeline name.", example = "python_features")),
    responses(
        (status = 200, description = "Files, by path.", body = PipelineFiles, example = json!({"files": [{"bytes": 1412, "path": "features.py"}, {"bytes": 1180, "path": "pipeline.yaml"}]})),
        (status = 400, description = "Invalid name.", body = ErrorBody),
        (status = 404, description = "No such pipeline.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/pipelines/{name}/files")]
async fn list_files(platform: Data, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let files = platform.runs.project().files(&name)?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &PipelineFiles { files },
    ))
}

/// A file of a pipeline's folder, as text
#[utoipa::path(
    tag = "pipelines",
    operation_id = "readPipelineFile",
    params(
        ("name" = String, Path, description = "Pipeline name.", example = "python_features"),
        ("file" = String, Path, description = "File name in the pipeline's folder.", example = "features.py")
    ),
    responses(
        (status = 200, description = "The file's text.", content_type = "text/plain", body = String),
        (status = 400, description = "Invalid name or path, or not UTF-8 text.", body = ErrorBody),
        (status = 404, description = "No such pipeline or file.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[get("/pipelines/{name}/files/{file}")]
async fn read_file(platform: Data, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (name, file) = path.into_inner();
    let text = platform.runs.project().read_file(&name, &file)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}

/// Write a file of a pipeline's folder (a block's code); `pipeline.yaml` is validated first
#[utoipa::path(
    tag = "pipelines",
    operation_id = "writePipelineFile",
    params(
        ("name" = String, Path, description = "Pipeline name.", example = "my_pipeline"),
        ("file" = String, Path, description = "File name in the pipeline's folder.", example = "load.py")
    ),
    request_body(content = String, content_type = "text/plain", description = "The file's text (at most 512 KiB; any Content-Type)."),
    responses(
        (status = 200, description = "Written.", body = PipelineFile),
        (status = 400, description = "Invalid path, text that is not UTF-8, or a `pipeline.yaml` that does not validate.", body = ErrorBody),
        (status = 404, description = "No such pipeline.", body = ErrorBody),
        (status = 413, description = "Over 512 KiB.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[put("/pipelines/{name}/files/{file}")]
async fn write_file(
    platform: Data,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (name, file) = path.into_inner();
    let body = read_body(payload, BODY_LIMIT).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Error::invalid_field("body", "the file must be UTF-8 text"))?;
    platform
        .runs
        .project()
        .write_file(&name, &file, text)
        .map_err(on_yaml)?;
    Ok(sorted_json(
        &mut HttpResponse::Ok(),
        &PipelineFile {
            path: file,
            bytes: body.len() as u64,
        },
    ))
}

/// Delete a file of a pipeline's folder
#[utoipa::path(
    tag = "pipelines",
    operation_id = "deletePipelineFile",
    params(
        ("name" = String, Path, description = "Pipeline name.", example = "my_pipeline"),
        ("file" = String, Path, description = "File name in the pipeline's folder.", example = "load.py")
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Invalid path, or `pipeline.yaml` (delete the pipeline instead).", body = ErrorBody),
        (status = 404, description = "No such pipeline or file.", body = ErrorBody),
        (status = 500, response = Internal),
    )
)]
#[delete("/pipelines/{name}/files/{file}")]
async fn delete_file(platform: Data, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (name, file) = path.into_inner();
    platform.runs.project().delete_file(&name, &file)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A validation error of the YAML text is about the `yaml` field of the request.
fn on_yaml(e: Error) -> Error {
    if e.code == ironmage_core::ErrorCode::InvalidInput && e.field.is_none() {
        e.with_field("yaml")
    } else {
        e
    }
}

/// A new pipeline.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPipeline {
    /// The folder name under `<project>/pipelines/` (a-z, 0-9, `_`, `-`).
    #[schema(example = "churn_small")]
    name: String,
    /// The `pipeline.yaml` text (docs/pipelines.md); its `name:`, if any, must match.
    yaml: String,
}

/// A pipeline file's text.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PipelineYaml {
    /// The `pipeline.yaml` text.
    yaml: String,
}

/// The files of a pipeline's folder.
#[derive(Serialize, ToSchema)]
struct PipelineFiles {
    files: Vec<PipelineFile>,
}
