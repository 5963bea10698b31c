//! The event bus: hints that something changed (a run ended, a version changed stage).
//!
//! Events are hints, not truth: every consumer can re-read the store, and the prediction
//! service also polls, so a lost event only delays a swap, never breaks it.
//!
//! Subscribers always read a local broadcast channel. With Redis, events are also published on
//! a Redis channel, and a forwarder task copies other processes' events into the local one.

use crate::error::{Error, Result};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::broadcast;

const CHANNEL: &str = "ironmage:events";

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
    /// Someone asked to cancel a run: its executor stops it now rather than at its next
    /// heartbeat.
    CancelRequested {
        /// Run id.
        run_id: String,
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
    /// Redis pub/sub between processes, delivered through a local broadcast.
    Redis(RedisBus),
}

/// The Redis side of the bus.
#[derive(Clone)]
pub struct RedisBus {
    local: broadcast::Sender<Event>,
    conn: ::redis::aio::ConnectionManager,
    origin: String,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("origin", &self.origin)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: Event,
}

impl EventBus {
    /// A new in-process bus.
    pub fn local() -> EventBus {
        EventBus::Local(broadcast::channel(256).0)
    }

    /// A bus shared through Redis at `url`; starts the forwarder task.
    pub async fn redis(url: &str) -> Result<EventBus> {
        let client = ::redis::Client::open(url)
            .map_err(|e| Error::invalid_field("REDIS_URL", e.to_string()))?;
        let conn = crate::queue::connection_manager(&client, url).await?;
        let local = broadcast::channel(256).0;
        let origin = uuid::Uuid::new_v4().simple().to_string();
        tokio::spawn(forward(client, local.clone(), origin.clone()));
        Ok(EventBus::Redis(RedisBus {
            local,
            conn,
            origin,
        }))
    }

    /// Announce an event; nobody listening is fine, and a failure to reach other processes is
    /// logged, not returned (they poll the store as well).
    pub async fn publish(&self, event: Event) {
        match self {
            EventBus::Local(sender) => {
                let _ = sender.send(event);
            }
            EventBus::Redis(bus) => {
                let _ = bus.local.send(event.clone());
                let envelope = serde_json::to_string(&Envelope {
                    origin: bus.origin.clone(),
                    event,
                })
                .unwrap_or_default();
                let mut conn = bus.conn.clone();
                let sent: std::result::Result<i64, _> =
                    ::redis::AsyncCommands::publish(&mut conn, CHANNEL, envelope).await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "could not publish an event to other processes");
                }
            }
        }
    }

    /// Listen to events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        match self {
            EventBus::Local(sender) => sender.subscribe(),
            EventBus::Redis(bus) => bus.local.subscribe(),
        }
    }
}

/// Copy other processes' events from Redis into the local channel, reconnecting forever.
async fn forward(client: ::redis::Client, local: broadcast::Sender<Event>, origin: String) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(e) = pubsub.subscribe(CHANNEL).await {
                    tracing::warn!(error = %e, "cannot subscribe to events");
                } else {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Envelope>(&payload) {
                            Ok(envelope) if envelope.origin != origin => {
                                let _ = local.send(envelope.event);
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "ignored a malformed event"),
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "event subscription lost; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
