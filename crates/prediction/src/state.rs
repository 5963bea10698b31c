//! The prediction role's types, below its handlers and tasks: its settings, what it may read
//! and write, and the state the handlers and the swapper share.

use crate::catalog::Catalog;
use crate::prediction_log::PredictionLog;
use ironmage_core::artifacts::ArtifactStore;
use ironmage_core::events::EventBus;
use ironmage_core::registry::RegistryReader;
use ironmage_core::store::PredictionStore;
use ironmage_core::tracking::Tracking;
use ironmage_core::Platform;
use ironmage_flavors::PythonOptions;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The model `/predict` answers with when none is named (`--model`).
pub const DEFAULT_MODEL: &str = "churn";

/// Milliseconds between two checks for new Production versions, when not set (`--poll-ms`).
pub const DEFAULT_POLL_MS: u64 = 500;

/// The shortest poll interval: each check is a query, and many replicas polling faster would
/// load the store for nothing (a promotion also wakes the swapper by event).
pub const MIN_POLL_MS: u64 = 50;

/// Largest request body in bytes, when not set (`--body-limit`): 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Logged predictions waiting in memory for the writer, at most: about 1.5 KiB each, so about
/// 25 MiB when full. A longer queue only postpones the drops when the writer cannot keep up,
/// and holds the embedded default's memory above 100 MiB under load.
pub const DEFAULT_LOG_QUEUE: usize = 16_384;

impl Default for PredictionConfig {
    fn default() -> Self {
        PredictionConfig {
            model: DEFAULT_MODEL.into(),
            models: vec!["*".into()],
            poll_interval: Duration::from_millis(DEFAULT_POLL_MS),
            body_limit: DEFAULT_BODY_LIMIT,
            on_load_failure: LoadFailurePolicy::KeepLast,
            python: PythonOptions::default(),
            cache_dir: std::env::temp_dir().join("ironmage-model-cache"),
            log_queue: DEFAULT_LOG_QUEUE,
        }
    }
}

impl PredictionConfig {
    /// Whether `model` is one this service serves (matched by one of [`Self::models`]).
    pub fn serves(&self, model: &str) -> bool {
        self.models.iter().any(|pattern| glob_match(pattern, model))
    }
}

/// `*` (any run of characters) and `?` (one character) patterns.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

impl ServingSources {
    /// The prediction role's share of a platform.
    pub fn of(platform: &Platform) -> ServingSources {
        ServingSources {
            registry: platform.registry_reader(),
            artifacts: platform.artifacts.clone(),
            tracking: platform.tracking.clone(),
            events: platform.events.clone(),
            log: platform.prediction_log(),
        }
    }
}

/// Settings of the prediction role.
#[derive(Debug, Clone)]
pub struct PredictionConfig {
    /// The model `/predict`, `/model-info` and `/lineage` answer with.
    pub model: String,
    /// Which registered models to serve: names or `*`/`?` patterns (all by default).
    pub models: Vec<String>,
    /// How often to check the store for new Production versions, besides events.
    pub poll_interval: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// What to do when a new Production version fails to load, or none is left.
    pub on_load_failure: LoadFailurePolicy,
    /// How Python (pyfunc) models are run.
    pub python: PythonOptions,
    /// Where MLflow model folders are copied out of the artifact store.
    pub cache_dir: PathBuf,
    /// Logged predictions waiting for the writer, at most; beyond, entries are dropped.
    pub log_queue: usize,
}

/// What a model's slot serves when its new Production version cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadFailurePolicy {
    /// Keep answering with the last good version (reported with its true stage).
    KeepLast,
    /// Stop answering (503) until a good Production version loads.
    Refuse,
}

/// What the prediction role reads and writes: the registry read-only (it serves what others
/// promote, and cannot change a stage), the artifacts it loads and the MLflow file index over
/// them, the stage-change events it swaps on, and the prediction log it appends to.
#[derive(Clone, Debug)]
pub struct ServingSources {
    /// Versions, lineage.
    pub registry: RegistryReader,
    /// Model files.
    pub artifacts: ArtifactStore,
    /// Where MLflow-logged models' files are.
    pub tracking: Tracking,
    /// Stage changes, to swap at once.
    pub events: EventBus,
    /// The prediction log.
    pub log: PredictionStore,
}

/// What the handlers share.
pub struct ServingState {
    /// What the role reads and writes.
    pub sources: ServingSources,
    /// Settings.
    pub config: PredictionConfig,
    /// The models being served.
    pub catalog: Catalog,
    /// Where answers queue for the log writer.
    pub log: PredictionLog,
    /// Rows answered since start.
    pub served: AtomicU64,
    /// Requests refused since start (bad input, no model, model errors).
    pub failed: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        for (p, n, m) in [
            ("*", "churn", true),
            ("churn", "churn", true),
            ("churn", "churn2", false),
            ("credit-*", "credit-risk", true),
            ("*-risk", "credit-risk", true),
            ("c?urn", "churn", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("", "", true),
        ] {
            assert_eq!(glob_match(p, n), m, "{p} {n}");
        }
    }
}
