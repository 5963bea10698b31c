//! The swapper: keeps `ServingState::current` on the model's Production version.

use crate::state::ServingState;
use ironmage_core::events::Event;
use ironmage_core::serving::ServedModel;
use serde::ser::{Serialize, SerializeMap, Serializer};
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

/// Loads new Production versions and swaps them in.
#[derive(Clone)]
pub struct Swapper {
    state: Arc<ServingState>,
    // One load at a time: an event, the poll and /reload may all ask at once.
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

    /// Wake on stage changes of our model and on every poll interval; refresh each time.
    pub async fn run(self) {
        let mut events = self.state.sources.events.subscribe();
        let mut tick = tokio::time::interval(self.state.config.poll_interval);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(Event::StageChanged { model, .. }) if model != self.state.config.model => continue,
                    Ok(Event::RunFinished { .. }) => continue,
                    _ => {}
                },
                _ = tick.tick() => {}
            }
            self.refresh(false).await;
        }
    }

    /// Serve whatever is in Production now. Returns what happened, for /reload. A version that
    /// failed to load is tried again only when `force` is set (a /reload), not on every poll.
    pub async fn refresh(&self, force: bool) -> RefreshOutcome {
        let _one_at_a_time = self.busy.lock().await;
        let state = &self.state;
        let model = &state.config.model;
        let wanted = match state.sources.registry.production_version(model).await {
            Ok(v) => v,
            Err(e) => return self.failed(None, format!("cannot read the registry: {e}")),
        };
        let current = state.current.load_full();
        match (wanted, current) {
            (None, None) => RefreshOutcome::NoModel {
                message: format!("model {model:?} has no Production version"),
            },
            (None, Some(old)) => {
                state.current.store(None);
                tracing::warn!(model = %model, version = old.version.version, "no Production version any more; stopped serving");
                RefreshOutcome::Unloaded {
                    previous: old.version.label.clone(),
                }
            }
            (Some(v), Some(cur)) if cur.version.version == v.version => RefreshOutcome::Unchanged {
                version: cur.version.label.clone(),
                version_number: v.version,
            },
            (Some(v), _) if !force && self.failed_before(v.version) => RefreshOutcome::Error {
                message: self
                    .state
                    .last_error
                    .lock()
                    .ok()
                    .and_then(|e| e.clone())
                    .unwrap_or_else(|| format!("version {} failed to load before", v.version)),
            },
            (Some(v), previous) => {
                let artifacts = state.sources.artifacts.clone();
                let (label, number) = (v.label.clone(), v.version);
                match tokio::task::spawn_blocking(move || ServedModel::load(&artifacts, v)).await {
                    Ok(Ok(loaded)) => {
                        state.current.store(Some(Arc::new(loaded)));
                        if let Ok(mut e) = state.last_error.lock() {
                            *e = None;
                        }
                        if let Ok(mut f) = state.failed_version.lock() {
                            *f = None;
                        }
                        let from = previous.map(|p| p.version.label.clone());
                        tracing::info!(model = %model, version = number, label = %label, from = ?from, "now serving");
                        RefreshOutcome::Swapped {
                            version: label,
                            version_number: number,
                            previous: from,
                        }
                    }
                    Ok(Err(e)) => self.failed(Some(number), format!("version {number} ({label}) failed to load, still serving the previous one: {e}")),
                    Err(e) => self.failed(Some(number), format!("version {number} ({label}) crashed while loading: {e}")),
                }
            }
        }
    }

    fn failed_before(&self, version: i64) -> bool {
        self.state
            .failed_version
            .lock()
            .map(|f| *f == Some(version))
            .unwrap_or(false)
    }

    fn failed(&self, version: Option<i64>, message: String) -> RefreshOutcome {
        tracing::error!(model = %self.state.config.model, "{message}");
        if let (Some(v), Ok(mut f)) = (version, self.state.failed_version.lock()) {
            *f = Some(v);
        }
        if let Ok(mut e) = self.state.last_error.lock() {
            *e = Some(message.clone());
        }
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
