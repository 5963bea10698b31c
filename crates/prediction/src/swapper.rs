//! The swapper: keeps `ServingState::current` on the model's Production version.

use crate::ServingState;
use ironmage_core::events::Event;
use ironmage_core::serving::ServedModel;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::Mutex;

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
    pub async fn refresh(&self, force: bool) -> Value {
        let _one_at_a_time = self.busy.lock().await;
        let state = &self.state;
        let model = &state.config.model;
        let wanted = match state.sources.registry.production_version(model).await {
            Ok(v) => v,
            Err(e) => return self.failed(None, format!("cannot read the registry: {e}")),
        };
        let current = state.current.load_full();
        match (wanted, current) {
            (None, None) => {
                json!({"status": "no_model", "message": format!("model {model:?} has no Production version")})
            }
            (None, Some(old)) => {
                state.current.store(None);
                tracing::warn!(model = %model, version = old.version.version, "no Production version any more; stopped serving");
                json!({"status": "unloaded", "previous": old.version.label})
            }
            (Some(v), Some(cur)) if cur.version.version == v.version => {
                json!({"status": "unchanged", "version": cur.version.label, "version_number": v.version})
            }
            (Some(v), _) if !force && self.failed_before(v.version) => {
                json!({"status": "error", "message": self.state.last_error.lock().ok().and_then(|e| e.clone())})
            }
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
                        json!({"status": "swapped", "version": label, "version_number": number, "previous": from})
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

    fn failed(&self, version: Option<i64>, message: String) -> Value {
        tracing::error!(model = %self.state.config.model, "{message}");
        if let (Some(v), Ok(mut f)) = (version, self.state.failed_version.lock()) {
            *f = Some(v);
        }
        if let Ok(mut e) = self.state.last_error.lock() {
            *e = Some(message.clone());
        }
        json!({"status": "error", "message": message})
    }
}
