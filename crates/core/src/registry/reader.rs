//! Reading the registry: what every role may see, and all the prediction role gets. It has no
//! way to write (no method here changes anything), so a role holding only a reader cannot
//! change a stage, a policy or a version.

use crate::error::Result;
use crate::lineage;
use crate::store::{
    ApprovalRequest, DatasetStore, Deployment, ModelSummary, ModelVersion, Policy, PredictionStore,
    RegisteredModel, RegistryStore, Stage, Store, Transition, VersionMeta,
};
use serde_json::Value;

/// Read-only access to registered models and versions. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RegistryReader {
    store: RegistryStore,
    datasets: DatasetStore,
    predictions: PredictionStore,
}

impl RegistryReader {
    /// A reader over `store`'s registry.
    pub fn new(store: &Store) -> RegistryReader {
        RegistryReader {
            store: store.registry(),
            datasets: store.datasets(),
            predictions: store.predictions(),
        }
    }

    /// Every model with its version count and Production version.
    pub async fn list_models(&self) -> Result<Vec<ModelSummary>> {
        self.store.list_models().await
    }

    /// The versions of a model, newest first.
    pub async fn versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        self.store.versions(model).await
    }

    /// One version.
    pub async fn version(&self, model: &str, version: i64) -> Result<ModelVersion> {
        self.store.version(model, version).await
    }

    /// The version in Production, if any.
    pub async fn production_version(&self, model: &str) -> Result<Option<ModelVersion>> {
        self.store.production_version(model).await
    }

    /// The newest version in `stage`, if any; an unknown model is not found.
    pub async fn newest_in_stage(&self, model: &str, stage: Stage) -> Result<Option<ModelVersion>> {
        let versions = self.store.versions(model).await?;
        if versions.is_empty() {
            // No versions: say whether the model exists at all.
            self.store.registered_model(model).await?;
        }
        Ok(versions
            .into_iter()
            .filter(|v| v.stage == stage)
            .max_by_key(|v| v.version))
    }

    /// The audit trail of a model, oldest first.
    pub async fn transitions(&self, model: &str) -> Result<Vec<Transition>> {
        self.store.transitions(model).await
    }

    /// Deployment decisions about a model, newest first.
    pub async fn deployments(&self, model: &str) -> Result<Vec<Deployment>> {
        self.store.deployments(model).await
    }

    /// A model's policy ([`crate::store::PolicySettings::none`] when none was set).
    pub async fn policy(&self, model: &str) -> Result<Policy> {
        self.store.policy(model).await
    }

    /// A model's approval requests, newest first, optionally of one status.
    pub async fn approval_requests(
        &self,
        model: &str,
        status: Option<&str>,
    ) -> Result<Vec<ApprovalRequest>> {
        self.store.approval_requests(model, status).await
    }

    /// One approval request.
    pub async fn approval_request(&self, model: &str, id: i64) -> Result<ApprovalRequest> {
        self.store.approval_request(model, id).await
    }

    /// The live versions matching an MLflow filter (`name`, `run_id`, `tag.<key>`), by model
    /// name then newest first, one page, each with its meta; and whether more follow.
    pub async fn search_versions(
        &self,
        filter: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<(ModelVersion, VersionMeta)>, bool)> {
        self.store.search_versions(filter, offset, limit).await
    }

    /// The lineage document of one version, with its prediction summary.
    pub async fn lineage(&self, model: &str, version: i64) -> Result<Value> {
        let version = self.store.version(model, version).await?;
        let dataset = match &version.dataset_version {
            Some(v) => Some(self.datasets.dataset(v).await?),
            None => None,
        };
        let predictions = self
            .predictions
            .prediction_summary(model, version.version, 20)
            .await?;
        Ok(lineage::render(&version, dataset.as_ref(), &predictions))
    }

    /// A registered model's fields, tags and aliases.
    pub async fn registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.store.registered_model(name).await
    }

    /// Every registered model name, sorted.
    pub async fn registered_model_names(&self) -> Result<Vec<String>> {
        self.store.registered_model_names().await
    }

    /// A version's description, tags and aliases.
    pub async fn version_meta(&self, model: &str, version: i64) -> Result<VersionMeta> {
        self.store.version_meta(model, version).await
    }

    /// The version an alias points at.
    pub async fn alias_version(&self, model: &str, alias: &str) -> Result<ModelVersion> {
        self.store.alias_version(model, alias).await
    }
}
