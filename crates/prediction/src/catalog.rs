//! The models being served: one slot per registered model, each with its own hot swap.
//!
//! Threading: a slot's Production version lives in an [`ArcSwapOption`]; a request takes the
//! current `Arc` once and finishes on it, so a swap never tears a request. Versions asked for by
//! number, stage or alias are loaded on first use and kept in a small per-slot cache.

use arc_swap::ArcSwapOption;
use ironmage_core::store::ModelVersion;
use ironmage_flavors::{Scorer, ScorerInfo};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

/// Versions other than Production kept loaded per model, at most.
pub const PINNED_PER_MODEL: usize = 3;

impl Catalog {
    /// The slot of `model`, made if new.
    pub fn slot(&self, model: &str) -> Arc<Slot> {
        if let Some(slot) = self.read().get(model) {
            return slot.clone();
        }
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(model.to_string())
            .or_insert_with(|| Arc::new(Slot::new(model)))
            .clone()
    }

    /// The slot of `model`, if it is served.
    pub fn get(&self, model: &str) -> Option<Arc<Slot>> {
        self.read().get(model).cloned()
    }

    /// Every slot, by model name.
    pub fn all(&self) -> Vec<Arc<Slot>> {
        self.read().values().cloned().collect()
    }

    /// Forget models no longer registered or no longer matched.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        slots.retain(|name, _| keep(name));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Slot>>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slot {
    fn new(model: &str) -> Slot {
        Slot {
            model: model.to_string(),
            production: ArcSwapOption::empty(),
            last_error: Mutex::new(None),
            failed_version: Mutex::new(None),
            pinned: Mutex::new(Vec::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The last load error, if the last load failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Record a load failure of `version` (or of the registry read, `None`).
    pub fn set_error(&self, version: Option<i64>, message: String) {
        if let (Some(v), Ok(mut f)) = (version, self.failed_version.lock()) {
            *f = Some(v);
        }
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(message);
        }
    }

    /// Clear the failure: a good version is served.
    pub fn clear_error(&self) {
        if let Ok(mut e) = self.last_error.lock() {
            *e = None;
        }
        if let Ok(mut f) = self.failed_version.lock() {
            *f = None;
        }
    }

    /// Whether `version` failed to load last time (the poll does not retry it).
    pub fn failed_before(&self, version: i64) -> bool {
        self.failed_version
            .lock()
            .map(|f| *f == Some(version))
            .unwrap_or(false)
    }

    /// A loaded non-Production version, if cached (or the Production one, if that is it).
    pub fn cached(&self, version: i64) -> Option<Arc<Served>> {
        if let Some(p) = self.production.load_full() {
            if p.version.version == version {
                return Some(p);
            }
        }
        let pinned = self.pinned.lock().ok()?;
        pinned
            .iter()
            .find(|s| s.version.version == version)
            .cloned()
    }

    /// Keep a loaded version for later requests, dropping the least recently loaded beyond
    /// [`PINNED_PER_MODEL`].
    pub fn pin(&self, served: Arc<Served>) {
        if let Ok(mut pinned) = self.pinned.lock() {
            pinned.retain(|s| s.version.version != served.version.version);
            pinned.push(served);
            let excess = pinned.len().saturating_sub(PINNED_PER_MODEL);
            pinned.drain(..excess);
        }
    }

    /// The versions held besides Production.
    pub fn pinned(&self) -> Vec<Arc<Served>> {
        self.pinned.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Every model served, by name.
#[derive(Default)]
pub struct Catalog {
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
}

/// One registered model.
pub struct Slot {
    /// Its name.
    pub model: String,
    /// Its Production version, when loaded (or, under the keep-last policy, the last good one).
    pub production: ArcSwapOption<Served>,
    last_error: Mutex<Option<String>>,
    failed_version: Mutex<Option<i64>>,
    pinned: Mutex<Vec<Arc<Served>>>,
    /// Held while a version asked for by a request loads, so concurrent requests load it once.
    pub loading: tokio::sync::Mutex<()>,
}

impl Served {
    /// The memory it holds, in bytes: its workers' resident memory now for a Python model,
    /// else what its load took.
    pub fn memory_bytes(&self) -> u64 {
        self.scorer
            .external_memory_bytes()
            .unwrap_or(self.loaded_bytes)
    }

    /// The same loaded model under an updated registry record (a new stage).
    pub fn with_version(&self, version: ModelVersion) -> Served {
        Served {
            version,
            scorer: self.scorer.clone(),
            info: self.info.clone(),
            loaded_at: self.loaded_at.clone(),
            loaded_bytes: self.loaded_bytes,
        }
    }
}

/// A version loaded in memory, ready to answer.
pub struct Served {
    /// The registry record it was loaded from (its stage as of loading).
    pub version: ModelVersion,
    /// What scores it.
    pub scorer: Arc<dyn Scorer>,
    /// What the scorer is.
    pub info: ScorerInfo,
    /// When it was loaded.
    pub loaded_at: String,
    /// Memory the load took, in bytes (see [`Served::memory_bytes`] for what it holds).
    pub loaded_bytes: u64,
}
