//! The event bus: hints that something changed (a run ended, a version changed stage).
//!
//! Events are hints, not truth: every consumer can re-read the store, and the prediction
//! service also polls, so a lost event only delays a swap, never breaks it.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Something worth reacting to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A version of `model` changed stage (promotion, archive, rollback).
    StageChanged {
        /// Model name.
        model: String,
        /// Version number.
        version: i64,
        /// New stage.
        stage: String,
    },
    /// A run reached a final status.
    RunFinished {
        /// Run id.
        run_id: String,
        /// Final status.
        status: String,
    },
}

/// The bus backends. Closed set, chosen by configuration.
#[derive(Clone, Debug)]
pub enum EventBus {
    /// In-process broadcast for the embedded default.
    Local(broadcast::Sender<Event>),
}

impl EventBus {
    /// A new in-process bus.
    pub fn local() -> EventBus {
        EventBus::Local(broadcast::channel(256).0)
    }

    /// Announce an event; nobody listening is fine.
    pub fn publish(&self, event: Event) {
        match self {
            EventBus::Local(sender) => {
                let _ = sender.send(event);
            }
        }
    }

    /// Listen to events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        match self {
            EventBus::Local(sender) => sender.subscribe(),
        }
    }
}
