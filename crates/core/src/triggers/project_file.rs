//! Triggers shipped with a pipeline, in `pipelines/<name>/triggers.yaml`:
//!
//! ```yaml
//! triggers:
//!   - name: weekly_retrain
//!     kind: cron
//!     cron: "0 2 * * SUN"
//!     timezone: UTC
//!     enabled: false
//! ```
//!
//! They are added to the store when a scheduler starts, once: after that the store is the
//! truth, so a trigger enabled through the API stays enabled across restarts.

use super::service::Triggers;
use super::spec::TriggerFields;
use crate::error::{Error, Result};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersFile {
    triggers: Vec<TriggerFields>,
}

impl Triggers {
    /// Add the project's file-defined triggers that the store does not have yet; returns how
    /// many were added. A broken file is reported and skipped, not fatal.
    pub async fn sync_project_triggers(&self) -> Result<usize> {
        let (pipelines, _) = self.project.pipelines()?;
        let existing = self.store.triggers(None).await?;
        let mut added = 0;
        for pipeline in pipelines {
            let file = format!("pipelines/{}/triggers.yaml", pipeline.name);
            let path = self.project.root().join(&file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let parsed: TriggersFile =
                match serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(&text)) {
                    Ok(parsed) => parsed,
                    Err(e) => {
                        tracing::error!(file = %file, "field {}: {}", e.path(), e.inner());
                        continue;
                    }
                };
            for fields in parsed.triggers {
                let id = format!("{}.{}", pipeline.name, fields.name);
                if existing.iter().any(|t| t.id == id) {
                    continue;
                }
                match self
                    .create_trigger(&pipeline.name, &fields, "project")
                    .await
                {
                    Ok(_) => added += 1,
                    Err(e) => {
                        tracing::error!(file = %file, trigger = %fields.name, "{}", describe(&e))
                    }
                }
            }
        }
        Ok(added)
    }
}

fn describe(e: &Error) -> String {
    match &e.field {
        Some(field) => format!("field {field}: {}", e.message),
        None => e.message.clone(),
    }
}
