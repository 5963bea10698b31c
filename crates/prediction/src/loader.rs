//! Loading one registry version into memory, whatever trained it: an ironmage bundle from the
//! artifact store, or an MLflow model folder copied out of the store into the local cache and
//! loaded by its flavor.

use crate::catalog::Served;
use crate::state::{PredictionConfig, ServingSources};
use ironmage_core::memory::resident_bytes;
use ironmage_core::model::ModelBundle;
use ironmage_core::store::ModelVersion;
use ironmage_core::{clock, Error, Result};
use ironmage_flavors::{BundleScorer, Scorer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Load `version` and check it answers. The memory a native model takes is the process's
/// growth while loading (loads run one at a time); a Python model's is its workers' resident
/// memory, asked live (see [`Served::memory_bytes`]).
pub async fn load(
    sources: &ServingSources,
    config: &PredictionConfig,
    version: ModelVersion,
) -> Result<Served> {
    let before = resident_bytes(None);
    let scorer: Arc<dyn Scorer> = match version.mlflow_source() {
        None => {
            let (artifacts, refs) = (sources.artifacts.clone(), version.artifacts.clone());
            let bundle = tokio::task::spawn_blocking(move || ModelBundle::load(&artifacts, &refs))
                .await
                .map_err(|e| Error::internal(format!("loading crashed: {e}")))??;
            Arc::new(BundleScorer::new(bundle))
        }
        Some(source) => {
            let folder = sources.tracking.model_folder(&source).await?;
            let files = sources.tracking.folder_files(&folder).await?;
            if files.is_empty() {
                return Err(Error::invalid(format!(
                    "no files were uploaded for {} (its folder {folder} is empty)",
                    source.source
                )));
            }
            // Named by content: two stores on one machine may both have a version 1 of "churn".
            let listing: String = files
                .iter()
                .map(|(p, sha)| format!("{p}={sha}\n"))
                .collect();
            let digest = ironmage_core::artifacts::sha256_ref(listing.as_bytes());
            let dir = config.cache_dir.join(&version.model).join(format!(
                "{}-{}",
                version.version,
                &digest[digest.len().saturating_sub(16)..]
            ));
            let artifacts = sources.artifacts.clone();
            let target = dir.clone();
            tokio::task::spawn_blocking(move || copy_out(&artifacts, &files, &target))
                .await
                .map_err(|e| Error::internal(format!("copying the model crashed: {e}")))??;
            ironmage_flavors::load_mlflow_folder(&dir, &config.python).await?
        }
    };
    check_answers(scorer.as_ref()).await?;
    let info = scorer.describe();
    Ok(Served {
        version,
        scorer,
        info,
        loaded_at: clock::now(),
        loaded_bytes: resident_bytes(None).saturating_sub(before),
    })
}

/// Write the folder's files under `dir` (hash-checked by the store's `get`), through a
/// temporary sibling renamed into place, so a crash never leaves half a folder that looks whole.
fn copy_out(
    artifacts: &ironmage_core::artifacts::ArtifactStore,
    files: &[(String, String)],
    dir: &Path,
) -> Result<()> {
    let io = |e: std::io::Error| Error::internal(format!("model cache {}: {e}", dir.display()));
    if dir.join("MLmodel").exists() {
        // A version's files never change once registered.
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(io)?;
    let staging = parent.join(format!(
        ".{}-{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("model"),
        uuid::Uuid::new_v4().simple()
    ));
    for (relative, sha) in files {
        let path = safe_join(&staging, relative)?;
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(io)?;
        }
        std::fs::write(&path, artifacts.get(sha)?).map_err(io)?;
    }
    match std::fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // Another replica or load got there first: theirs is the same files.
        Err(_) if dir.join("MLmodel").exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(e) => Err(io(e)),
    }
}

/// `relative` under `dir`, refusing paths that would leave it.
fn safe_join(dir: &Path, relative: &str) -> Result<PathBuf> {
    let path = Path::new(relative);
    let inside = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(Error::invalid(format!(
            "artifact path {relative:?} leaves the model folder"
        )));
    }
    Ok(dir.join(path))
}

/// Score one row of missing values (NaN, or the column's first text) so a model that cannot
/// answer is refused before it is swapped in. A Python model raising on missing values is
/// still a model that answers; only crashes and broken files refuse it.
async fn check_answers(scorer: &dyn Scorer) -> Result<()> {
    let probe = scorer
        .input()
        .columns
        .iter()
        .map(|c| ironmage_core::serving::missing(c.kind))
        .collect();
    match scorer.score(vec![probe]).await {
        Ok(answers) if answers.len() == 1 => Ok(()),
        Ok(answers) => Err(Error::internal(format!(
            "the warm-up prediction gave {} answers for one row",
            answers.len()
        ))),
        Err(e) if e.code == ironmage_core::ErrorCode::InvalidInput => Ok(()),
        Err(e) => Err(Error::internal(format!(
            "the warm-up prediction failed: {e}"
        ))),
    }
}
