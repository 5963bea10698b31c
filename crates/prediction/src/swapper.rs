//! The swapper: keeps each served model's slot on its Production version.

use crate::catalog::{Served, Slot};
use crate::loader;
use crate::state::{LoadFailurePolicy, ServingState};
use ironmage_core::events::Event;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// What a refresh did: the body of /reload (`ReloadResult` in openapi.json).
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// A new version is now served.
    Swapped {
        /// Its label.
        version: String,
        /// Its number.
        version_number: i64,
        /// The label of the version served before, if any.
        previous: Option<String>,
    },
    /// The Production version was already served.
    Unchanged {
        /// Its label.
        version: String,
        /// Its number.
        version_number: i64,
    },
    /// Nothing is in Production any more: the version served before was dropped.
    Unloaded {
        /// Its label.
        previous: String,
    },
    /// Nothing is in Production any more; the last good version is still served (keep-last
    /// policy), reported under its true stage.
    Kept {
        /// Its label.
        version: String,
        /// Its number.
        version_number: i64,
        /// Why.
        message: String,
    },
    /// Nothing is in Production and nothing was served.
    NoModel {
        /// Which model has no Production version.
        message: String,
    },
    /// The registry could not be read, or the Production version failed to load (the previous
    /// one is still served).
    Error {
        /// Why.
        message: String,
    },
}

impl RefreshOutcome {
    /// Whether this is a failure (/reload answers 503 then).
    pub fn is_error(&self) -> bool {
        matches!(self, RefreshOutcome::Error { .. })
    }
}

impl Serialize for RefreshOutcome {
    /// `{"status": "swapped" | "unchanged" | "unloaded" | "no_model" | "error", …}` with the
    /// variant's fields, keys in alphabetical order: the bytes /reload gave when these answers
    /// were built as JSON maps (a tagged derive would put `status` first).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            RefreshOutcome::Swapped {
                version,
                version_number,
                previous,
            } => {
                map.serialize_entry("previous", previous)?;
                map.serialize_entry("status", "swapped")?;
                map.serialize_entry("version", version)?;
                map.serialize_entry("version_number", version_number)?;
            }
            RefreshOutcome::Unchanged {
                version,
                version_number,
            } => {
                map.serialize_entry("status", "unchanged")?;
                map.serialize_entry("version", version)?;
                map.serialize_entry("version_number", version_number)?;
            }
            RefreshOutcome::Unloaded { previous } => {
                map.serialize_entry("previous", previous)?;
                map.serialize_entry("status", "unloaded")?;
            }
            RefreshOutcome::Kept {
                version,
                version_number,
                message,
            } => {
                map.serialize_entry("message", message)?;
                map.serialize_entry("status", "kept")?;
                map.serialize_entry("version", version)?;
                map.serialize_entry("version_number", version_number)?;
            }
            RefreshOutcome::NoModel { message } => {
                map.serialize_entry("message", message)?;
                map.serialize_entry("status", "no_model")?;
            }
            RefreshOutcome::Error { message } => {
                map.serialize_entry("message", message)?;
                map.serialize_entry("status", "error")?;
            }
        }
        map.end()
    }
}

/// Loads new Production versions of every served model and swaps them in.
#[derive(Clone)]
pub struct Swapper {
    state: Arc<ServingState>,
    // One load at a time: an event, the poll and /reload may all ask at once, and loads are
    // measured by the process's memory growth.
    busy: Arc<Mutex<()>>,
}

impl Swapper {
    /// A swapper for this state.
    pub fn new(state: Arc<ServingState>) -> Swapper {
        Swapper {
            state,
            busy: Arc::new(Mutex::new(())),
        }
    }

    /// Wake on stage changes (refreshing that model) and on every poll interval (refreshing
    /// every model, which also finds newly registered ones).
    pub async fn run(self) {
        let mut events = self.state.sources.events.subscribe();
        let mut tick = tokio::time::interval(self.state.config.poll_interval);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(Event::StageChanged { model, .. }) => {
                        if self.state.config.serves(&model) {
                            self.refresh(&model, false).await;
                        }
                    }
                    Ok(_) => {}
                    // Missed events: a full refresh catches up.
                    Err(_) => {
                        self.refresh_all(false).await;
                    }
                },
                _ = tick.tick() => {
                    self.refresh_all(false).await;
                }
            }
        }
    }

    /// Refresh every served model; returns what happened to each.
    pub async fn refresh_all(&self, force: bool) -> BTreeMap<String, RefreshOutcome> {
        let state = &self.state;
        let names = match state.sources.registry.registered_model_names().await {
            Ok(names) => names,
            Err(e) => {
                // Serving goes on from memory; the next poll tries again.
                tracing::warn!(error = %e, "cannot read the registry; serving what is loaded");
                return BTreeMap::new();
            }
        };
        let names: Vec<String> = names
            .into_iter()
            .filter(|n| state.config.serves(n))
            .collect();
        state.catalog.retain(|n| names.iter().any(|m| m == n));
        let mut outcomes = BTreeMap::new();
        for name in names {
            let outcome = self.refresh(&name, force).await;
            outcomes.insert(name, outcome);
        }
        outcomes
    }

    /// Serve whatever is in Production for `model` now. A version that failed to load is tried
    /// again only when `force` is set (a /reload), not on every poll.
    pub async fn refresh(&self, model: &str, force: bool) -> RefreshOutcome {
        let _one_at_a_time = self.busy.lock().await;
        let state = &self.state;
        let slot = state.catalog.slot(model);
        let wanted = match state.sources.registry.production_version(model).await {
            Ok(v) => v,
            Err(e) => {
                let message = format!("cannot read the registry: {e}");
                tracing::warn!(model = %model, "{message}");
                return RefreshOutcome::Error { message };
            }
        };
        let current = slot.production.load_full();
        match (wanted, current) {
            (None, None) => RefreshOutcome::NoModel {
                message: format!("model {model:?} has no Production version"),
            },
            (None, Some(old)) => self.lost_production(&slot, old).await,
            (Some(v), Some(cur)) if cur.version.version == v.version => {
                if cur.version.stage != v.stage {
                    slot.production
                        .store(Some(Arc::new(cur.with_version(v.clone()))));
                    slot.clear_error();
                }
                RefreshOutcome::Unchanged {
                    version: cur.version.label.clone(),
                    version_number: v.version,
                }
            }
            (Some(v), _) if !force && slot.failed_before(v.version) => RefreshOutcome::Error {
                message: slot
                    .last_error()
                    .unwrap_or_else(|| format!("version {} failed to load before", v.version)),
            },
            (Some(v), previous) => {
                let (label, number) = (v.label.clone(), v.version);
                match loader::load(&state.sources, &state.config, v).await {
                    Ok(loaded) => {
                        tracing::info!(model = %model, version = number, label = %label, flavor = loaded.info.flavor, memory_bytes = loaded.memory_bytes(), "now serving");
                        slot.production.store(Some(Arc::new(loaded)));
                        slot.clear_error();
                        RefreshOutcome::Swapped {
                            version: label,
                            version_number: number,
                            previous: previous.map(|p| p.version.label.clone()),
                        }
                    }
                    Err(e) => self.failed_load(
                        &slot,
                        number,
                        format!("version {number} ({label}) failed to load: {e}"),
                    ),
                }
            }
        }
    }

    /// Nothing is in Production any more (archived, deleted): keep the last good version
    /// under its true stage, or stop, as configured.
    async fn lost_production(&self, slot: &Slot, old: Arc<Served>) -> RefreshOutcome {
        let model = &slot.model;
        let number = old.version.version;
        match self.state.config.on_load_failure {
            LoadFailurePolicy::Refuse => {
                slot.production.store(None);
                tracing::warn!(model = %model, version = number, "no Production version any more; stopped serving");
                RefreshOutcome::Unloaded {
                    previous: old.version.label.clone(),
                }
            }
            LoadFailurePolicy::KeepLast => {
                // Report what is served as it is now in the registry (Archived, say).
                if let Ok(now) = self.state.sources.registry.version(model, number).await {
                    if now.stage != old.version.stage {
                        tracing::warn!(model = %model, version = number, stage = now.stage.as_str(), "no Production version any more; still serving the last one (keep-last policy)");
                        slot.production.store(Some(Arc::new(old.with_version(now))));
                    }
                }
                let message = format!(
                    "model {model:?} has no Production version; still serving version {number} ({})",
                    old.version.label
                );
                slot.set_error(None, message.clone());
                RefreshOutcome::Kept {
                    version: old.version.label.clone(),
                    version_number: number,
                    message,
                }
            }
        }
    }

    fn failed_load(&self, slot: &Slot, version: i64, message: String) -> RefreshOutcome {
        let message = match self.state.config.on_load_failure {
            LoadFailurePolicy::KeepLast if slot.production.load().is_some() => {
                format!("{message}; still serving the previous version")
            }
            LoadFailurePolicy::KeepLast => message,
            LoadFailurePolicy::Refuse => {
                slot.production.store(None);
                format!("{message}; not serving (refuse policy)")
            }
        };
        tracing::error!(model = %slot.model, "{message}");
        slot.set_error(Some(version), message.clone());
        RefreshOutcome::Error { message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each outcome gives the bytes /reload gave when it built them with `json!`.
    #[test]
    fn outcomes_serialize_as_the_reload_answers_did() {
        let label = "v_20261123_183833_2".to_string();
        for (outcome, before) in [
            (
                RefreshOutcome::Swapped {
                    version: label.clone(),
                    version_number: 2,
                    previous: None,
                },
                json!({"status": "swapped", "version": label, "version_number": 2, "previous": null}),
            ),
            (
                RefreshOutcome::Swapped {
                    version: label.clone(),
                    version_number: 2,
                    previous: Some("v1".into()),
                },
                json!({"status": "swapped", "version": label, "version_number": 2, "previous": "v1"}),
            ),
            (
                RefreshOutcome::Unchanged {
                    version: label.clone(),
                    version_number: 2,
                },
                json!({"status": "unchanged", "version": label, "version_number": 2}),
            ),
            (
                RefreshOutcome::Unloaded {
                    previous: label.clone(),
                },
                json!({"status": "unloaded", "previous": label}),
            ),
            (
                RefreshOutcome::NoModel {
                    message: "model \"churn\" has no Production version".into(),
                },
                json!({"status": "no_model", "message": "model \"churn\" has no Production version"}),
            ),
            (
                RefreshOutcome::Error {
                    message: "cannot read the registry".into(),
                },
                json!({"status": "error", "message": "cannot read the registry"}),
            ),
        ] {
            assert_eq!(
                serde_json::to_string(&outcome).unwrap(),
                serde_json::to_string(&before).unwrap()
            );
            assert_eq!(
                outcome.is_error(),
                before["status"] == "error",
                "{outcome:?}"
            );
        }
    }
}
