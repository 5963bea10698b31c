//! A platform over the embedded store in a test's temp folder, the pipelines written into its
//! project, and runs executed to their end: what the pipeline tests share.

use ironmage_core::pipeline::{Project, RunOutcome};
use ironmage_core::store::{BlockRun, Run, RunScope};
use ironmage_core::{Platform, PlatformConfig};
use serde_json::{Map, Value};
use std::path::Path;

/// The platform over `dir/data` (SQLite there, or `database_url`) with its project at
/// `dir/project`, in-process queue and events.
pub async fn open_platform(dir: &Path, database_url: Option<String>) -> Platform {
    Platform::open(&PlatformConfig {
        data_dir: dir.join("data"),
        database_url,
        artifact_dir: None,
        project_dir: dir.join("project"),
        redis_url: None,
    })
    .await
    .unwrap()
}

/// The demo project written into `dir/project`, then the embedded platform over it.
pub async fn demo_platform(dir: &Path) -> Platform {
    Project::init(&dir.join("project")).unwrap();
    open_platform(dir, None).await
}

/// `dir/project/pipelines/<name>/pipeline.yaml`.
pub fn write_pipeline(dir: &Path, name: &str, yaml: &str) {
    write_pipeline_files(dir, name, yaml, &[]);
}

/// A pipeline file and the block files beside it (paths relative to the pipeline's folder).
pub fn write_pipeline_files(dir: &Path, name: &str, yaml: &str, files: &[(&str, &str)]) {
    let folder = dir.join("project/pipelines").join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("pipeline.yaml"), yaml).unwrap();
    for (file, text) in files {
        let path = folder.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Create a run of `pipeline` with `variables` and execute it here: its outcome and the
/// records of its blocks.
pub async fn run_pipeline(
    p: &Platform,
    pipeline: &str,
    variables: Map<String, Value>,
) -> (RunOutcome, Vec<BlockRun>) {
    let (_, outcome, blocks) = run_scoped(p, pipeline, variables, None).await;
    (outcome, blocks)
}

/// [`run_pipeline`] limited to the blocks `scope` names (`None`: every block), with the run's
/// record.
pub async fn run_scoped(
    p: &Platform,
    pipeline: &str,
    variables: Map<String, Value>,
    scope: Option<RunScope>,
) -> (Run, RunOutcome, Vec<BlockRun>) {
    let run = p
        .runs
        .create_limited_run(pipeline, variables, "test", scope)
        .await
        .unwrap();
    let outcome = p
        .runs
        .execute_run(&run.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    let blocks = p.runs.run_detail(&run.id).await.unwrap().blocks;
    (run, outcome, blocks)
}
