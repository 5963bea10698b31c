//! Lineage: where a model came from (code, data, parameters) and what it has served since.

use crate::store::{ArtifactRefs, DatasetRecord, ModelVersion, PredictionSummary, Stage};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The state of the code that trained a model, read with git2.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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
    let document = LineageDocument {
        model: &version.model,
        version: &version.label,
        version_number: version.version,
        stage: version.stage,
        timestamp: &version.created_at,
        run_id: version.run_id.as_deref(),
        metrics: &version.metrics,
        code_lineage: version
            .lineage
            .get("code_lineage")
            .cloned()
            .unwrap_or(Value::Null),
        environment: version
            .lineage
            .get("environment")
            .cloned()
            .unwrap_or(Value::Null),
        data_lineage: dataset.map(|d| DataLineage {
            version: &d.version,
            hash: &d.hash,
            row_count: d.row_count,
            feature_count: d.feature_count,
            feature_names: &d.feature_names,
            churn_rate: d.label_rate,
            created_at: &d.created_at,
        }),
        hyperparameters: &version.hyperparameters,
        artifacts: &version.artifacts,
        predictions: PredictionsSeen {
            count: predictions.count,
            last_prediction_time: predictions.last_prediction_time.as_deref(),
            history: predictions
                .history
                .iter()
                .map(|p| PredictionSeen {
                    prediction_id: &p.id,
                    time: &p.created_at,
                    source: &p.source,
                    output: &p.output,
                })
                .collect(),
        },
    };
    // A map of plain fields: converting cannot fail. A `Value` (keys sorted), because that is
    // what callers store and serve.
    json!(document)
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

/// The `lineage.json` document of one model version (the Mage demo's shape), rendered from the
/// metadata store: registry row, dataset row, code state captured at training, and the
/// version's prediction log.
#[derive(Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Lineage))]
pub struct LineageDocument<'a> {
    /// Model name.
    #[cfg_attr(feature = "http", schema(example = "churn"))]
    pub model: &'a str,
    /// Version label `v_YYYYMMDD_HHMMSS` (`_N` appended when taken).
    #[cfg_attr(feature = "http", schema(example = "v_20261123_182806"))]
    pub version: &'a str,
    /// Version number.
    #[cfg_attr(feature = "http", schema(example = 2))]
    pub version_number: i64,
    /// Current stage.
    pub stage: Stage,
    /// When the version was registered (RFC 3339 UTC with milliseconds).
    #[cfg_attr(feature = "http", schema(example = "2026-11-23T18:28:06.657Z"))]
    pub timestamp: &'a str,
    /// The run that trained it.
    #[cfg_attr(feature = "http", schema(required))]
    pub run_id: Option<&'a str>,
    /// Test-set metrics, with sample counts and feature importances.
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub metrics: &'a Map<String, Value>,
    /// The code state captured at training ([`CodeLineage`]); null for versions registered without it.
    #[cfg_attr(feature = "http", schema(value_type = Option<CodeLineage>, required))]
    pub code_lineage: Value,
    /// ironmage's version, the OS and the Python interpreter and packages the version was
    /// trained with ([`Environment`](crate::environment::Environment)); null for versions
    /// registered without it.
    #[cfg_attr(feature = "http", schema(value_type = Option<crate::environment::Environment>, required))]
    pub environment: Value,
    /// The dataset version the model was trained on (null if the version has none).
    #[cfg_attr(feature = "http", schema(required))]
    pub data_lineage: Option<DataLineage<'a>>,
    /// The training block's config with its defaults filled in.
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub hyperparameters: &'a Map<String, Value>,
    /// Content hashes of the version's artifacts.
    pub artifacts: &'a ArtifactRefs,
    /// What the version has served.
    pub predictions: PredictionsSeen<'a>,
}

/// The dataset version a model was trained on.
#[derive(Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct DataLineage<'a> {
    /// `data_v_YYYYMMDD_HHMMSS`, with `_N` appended when two versions share a second.
    #[cfg_attr(feature = "http", schema(example = "data_v_20261123_182806"))]
    pub version: &'a str,
    /// SHA-256 of the dataset's canonical serialisation (columns by name, rows sorted).
    #[cfg_attr(
        feature = "http",
        schema(
            example = "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a"
        )
    )]
    pub hash: &'a str,
    /// Rows.
    #[cfg_attr(feature = "http", schema(example = 1000))]
    pub row_count: i64,
    /// Feature columns.
    #[cfg_attr(feature = "http", schema(example = 10))]
    pub feature_count: i64,
    /// Feature column names.
    pub feature_names: &'a [String],
    /// Share of rows whose label is 1.
    #[cfg_attr(feature = "http", schema(example = 0.254))]
    pub churn_rate: f64,
    /// When the dataset version was made (RFC 3339 UTC with milliseconds).
    #[cfg_attr(feature = "http", schema(example = "2026-11-23T18:28:06.657Z"))]
    pub created_at: &'a str,
}

/// What a version has served.
#[derive(Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PredictionsSeen<'a> {
    /// Predictions this version served or had logged.
    pub count: i64,
    /// The time of the newest one.
    #[cfg_attr(feature = "http", schema(required))]
    pub last_prediction_time: Option<&'a str>,
    /// The newest ones (at most 20), newest first.
    pub history: Vec<PredictionSeen<'a>>,
}

/// One prediction in a version's lineage.
#[derive(Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = PredictionHistoryEntry))]
pub struct PredictionSeen<'a> {
    /// Its id.
    #[cfg_attr(feature = "http", schema(example = "3f951023f2bd4173b0b7cd00e0d78505"))]
    pub prediction_id: &'a str,
    /// When (RFC 3339 UTC with milliseconds).
    #[cfg_attr(feature = "http", schema(example = "2026-11-23T18:28:06.657Z"))]
    pub time: &'a str,
    /// `predict` for answers of /predict, `log` for entries posted to /log-prediction.
    #[cfg_attr(feature = "http", schema(example = "predict"))]
    pub source: &'a str,
    /// The answer as returned (for `log` entries: prediction, probability and risk_level as posted).
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub output: &'a RawValue,
}
