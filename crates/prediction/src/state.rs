//! The prediction role's types, below its handlers and tasks: its settings, what it may read
//! and write, and the state the handlers and the swapper share.

use arc_swap::ArcSwapOption;
use ironmage_core::artifacts::ArtifactStore;
use ironmage_core::events::EventBus;
use ironmage_core::registry::RegistryReader;
use ironmage_core::serving::ServedModel;
use ironmage_core::store::{PredictionRecord, PredictionStore};
use ironmage_core::Platform;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// The model served when none is named (`--model`).
pub const DEFAULT_MODEL: &str = "churn";

/// Milliseconds between two checks for a new Production version, when not set (`--poll-ms`).
pub const DEFAULT_POLL_MS: u64 = 500;

/// The shortest poll interval: each check is a query, and many replicas polling faster would
/// load the store for nothing (a promotion also wakes the swapper by event).
pub const MIN_POLL_MS: u64 = 50;

/// Largest request body in bytes, when not set (`--body-limit`): 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Settings of the prediction role.
#[derive(Debug, Clone)]
pub struct PredictionConfig {
    /// Registered model to serve (its Production version).
    pub model: String,
    /// How often to check the store for a new Production version, besides events.
    pub poll_interval: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
}

impl Default for PredictionConfig {
    fn default() -> Self {
        PredictionConfig {
            model: DEFAULT_MODEL.into(),
            poll_interval: Duration::from_millis(DEFAULT_POLL_MS),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// What the prediction role reads and writes: the registry read-only (it serves what others
/// promote, and cannot change a stage), the artifacts it loads, the stage-change events it
/// swaps on, and the prediction log it appends to.
#[derive(Clone, Debug)]
pub struct ServingSources {
    /// Versions, lineage.
    pub registry: RegistryReader,
    /// Model files.
    pub artifacts: ArtifactStore,
    /// Stage changes, to swap at once.
    pub events: EventBus,
    /// The prediction log.
    pub log: PredictionStore,
}

impl ServingSources {
    /// The prediction role's share of a platform.
    pub fn of(platform: &Platform) -> ServingSources {
        ServingSources {
            registry: platform.registry_reader(),
            artifacts: platform.artifacts.clone(),
            events: platform.events.clone(),
            log: platform.prediction_log(),
        }
    }
}

/// What the handlers share.
pub struct ServingState {
    /// What the role reads and writes.
    pub sources: ServingSources,
    /// Settings.
    pub config: PredictionConfig,
    /// The model being served, if any.
    pub current: ArcSwapOption<ServedModel>,
    /// The last failed load, shown by /health until a load succeeds.
    pub last_error: Mutex<Option<String>>,
    /// The version whose load failed last; the poll does not retry it (a /reload does).
    pub failed_version: Mutex<Option<i64>>,
    /// Answers given since start.
    pub served: AtomicU64,
    /// Where answers queue for the log writer.
    pub(crate) log: mpsc::Sender<PredictionRecord>,
}
