//! Which version of a model answers a request: Production by default, or a stage, a version
//! number or an alias the request names. Production is served from memory; other versions are
//! looked up in the registry and loaded on first use.

use crate::catalog::{Served, Slot};
use crate::loader;
use crate::state::ServingState;
use ironmage_core::store::Stage;
use ironmage_core::{Error, Result};
use std::sync::Arc;

/// The version `selector` picks for `slot`.
pub async fn served(state: &ServingState, slot: &Slot, selector: &Selector) -> Result<Arc<Served>> {
    let registry = &state.sources.registry;
    let model = &slot.model;
    let version = match selector {
        Selector::Production => return production(slot),
        Selector::Stage(Stage::Production) => return production(slot),
        Selector::Version(n) => {
            if let Some(s) = slot.cached(*n) {
                return Ok(s);
            }
            registry.version(model, *n).await?
        }
        Selector::Stage(stage) => {
            registry
                .newest_in_stage(model, *stage)
                .await?
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "model {model:?} has no version in {}",
                        stage.as_str()
                    ))
                })?
        }
        Selector::Alias(alias) => registry.alias_version(model, alias).await?,
    };
    if let Some(s) = slot.cached(version.version) {
        return Ok(s);
    }
    let _one_at_a_time = slot.loading.lock().await;
    if let Some(s) = slot.cached(version.version) {
        return Ok(s);
    }
    let number = version.version;
    let loaded = loader::load(&state.sources, &state.config, version)
        .await
        .map_err(|e| {
            Error::unavailable(format!(
                "version {number} of {model:?} cannot be served: {}",
                e.message
            ))
        })?;
    let loaded = Arc::new(loaded);
    slot.pin(loaded.clone());
    Ok(loaded)
}

/// The Production version in memory, or why there is none.
pub fn production(slot: &Slot) -> Result<Arc<Served>> {
    slot.production.load_full().ok_or_else(|| {
        let mut message = format!(
            "no Production version of model {:?} is being served",
            slot.model
        );
        if let Some(reason) = slot.last_error() {
            message.push_str(&format!(" ({reason})"));
        }
        Error::unavailable(message)
    })
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// The Production version (the default).
    Production,
    /// The newest version in this stage.
    Stage(Stage),
    /// This version number.
    Version(i64),
    /// The version this alias points at.
    Alias(String),
}
