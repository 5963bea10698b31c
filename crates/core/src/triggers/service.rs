//! The triggers service: the handle the scheduler, the API and the CLI hold. Creating and
//! firing triggers is in `firing.rs`, the project's trigger files in `project_file.rs`.

use crate::error::Result;
use crate::pipeline::Project;
use crate::runs::Runs;
use crate::store::{Trigger, TriggerStore};

/// Creates, lists and fires triggers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Triggers {
    pub(super) store: TriggerStore,
    pub(super) runs: Runs,
    pub(super) project: Project,
}

impl Triggers {
    /// Triggers stored in `store`, starting runs through `runs`, for the pipelines of `project`.
    pub fn new(store: TriggerStore, runs: Runs, project: Project) -> Triggers {
        Triggers {
            store,
            runs,
            project,
        }
    }

    /// The triggers (of one pipeline, if given).
    pub async fn list(&self, pipeline: Option<&str>) -> Result<Vec<Trigger>> {
        self.store.triggers(pipeline).await
    }

    /// One trigger.
    pub async fn get(&self, id: &str) -> Result<Trigger> {
        self.store.trigger(id).await
    }

    /// Delete a trigger.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.store.delete_trigger(id).await
    }
}
