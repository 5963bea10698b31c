//! Lineage: where a model came from (code, data, parameters) and what it has served since.

use crate::store::{DatasetRecord, ModelVersion, PredictionSummary};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;

/// The state of the code that trained a model, read with git2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeLineage {
    /// HEAD commit id; null outside a git repository or before the first commit.
    pub git_commit: Option<String>,
    /// Current branch; null when detached or outside a repository.
    pub git_branch: Option<String>,
    /// `clean`, `dirty` (uncommitted or untracked changes) or `unknown` (no repository).
    pub git_status: String,
    /// The pipeline file and block that trained the model (`pipelines/demo_mlops/pipeline.yaml#training`).
    pub training_block: String,
}

/// Read the code lineage of `project_dir` (the repository is discovered upwards from it).
pub fn code_lineage(project_dir: &Path, training_block: &str) -> CodeLineage {
    let unknown = CodeLineage {
        git_commit: None,
        git_branch: None,
        git_status: "unknown".into(),
        training_block: training_block.to_string(),
    };
    let Ok(repo) = git2::Repository::discover(project_dir) else {
        return unknown;
    };
    let head = repo.head().ok();
    let git_commit = head
        .as_ref()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    let git_branch = match &head {
        Some(h) if h.is_branch() => h.shorthand().map(str::to_string),
        Some(_) => None,
        // An unborn branch still has a name in HEAD's symbolic target.
        None => repo.find_reference("HEAD").ok().and_then(|r| {
            r.symbolic_target()
                .map(|t| t.trim_start_matches("refs/heads/").to_string())
        }),
    };
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let git_status = match repo.statuses(Some(&mut options)) {
        Ok(statuses) if statuses.is_empty() => "clean",
        Ok(_) => "dirty",
        Err(_) => "unknown",
    };
    CodeLineage {
        git_commit,
        git_branch,
        git_status: git_status.into(),
        training_block: training_block.to_string(),
    }
}

/// The `lineage.json` document of a version, in the shape of the Mage demo, from the store's rows.
pub fn render(
    version: &ModelVersion,
    dataset: Option<&DatasetRecord>,
    predictions: &PredictionSummary,
) -> Value {
    let data_lineage = match dataset {
        Some(d) => json!({
            "version": d.version,
            "hash": d.hash,
            "row_count": d.row_count,
            "feature_count": d.feature_count,
            "feature_names": d.feature_names,
            "churn_rate": d.label_rate,
            "created_at": d.created_at,
        }),
        None => Value::Null,
    };
    let history: Vec<Value> = predictions
        .history
        .iter()
        .map(|p| json!({"prediction_id": p.id, "time": p.created_at, "source": p.source, "output": p.output}))
        .collect();
    json!({
        "model": version.model,
        "version": version.label,
        "version_number": version.version,
        "stage": version.stage.as_str(),
        "timestamp": version.created_at,
        "run_id": version.run_id,
        "metrics": version.metrics,
        "code_lineage": version.lineage.get("code_lineage").cloned().unwrap_or(Value::Null),
        "data_lineage": data_lineage,
        "hyperparameters": version.hyperparameters,
        "artifacts": version.artifacts,
        "predictions": {
            "count": predictions.count,
            "last_prediction_time": predictions.last_prediction_time,
            "history": history,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_repository_the_commit_is_null_and_status_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let l = code_lineage(dir.path(), "p.yaml#training");
        assert_eq!(l.git_commit, None);
        assert_eq!(l.git_status, "unknown");
    }

    #[test]
    fn inside_a_repository_commit_branch_and_dirtiness_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::write(dir.path().join("a.txt"), "x").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let commit = repo
            .commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
            .unwrap();
        index.write().unwrap();
        let l = code_lineage(dir.path(), "b");
        assert_eq!(l.git_commit, Some(commit.to_string()));
        assert!(l.git_branch.is_some());
        assert_eq!(l.git_status, "clean");
        std::fs::write(dir.path().join("b.txt"), "y").unwrap();
        assert_eq!(code_lineage(dir.path(), "b").git_status, "dirty");
    }
}
