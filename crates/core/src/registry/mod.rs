//! The registry service: registering versions and every change a user or a pipeline makes to
//! them (stage changes, approvals, rollback, keep-latest-N, deletion, policies). Inputs are
//! checked here, once for every edge (REST, MLflow routes, CLI, pipeline blocks), and the
//! prediction services are told when a stage changes.
//!
//! Every stage change goes through [`Registry::change_stage`]; the only thing that differs
//! between the ways of asking is [`StageSource::when_approvals_needed`].

mod reader;

pub use reader::RegistryReader;

use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::names::check_model_name;
use crate::store::{
    ApprovalOutcome, ApprovalRequest, Deployment, KeyValue, ModelVersion, NewVersion, Policy,
    PolicySettings, Promotion, RegisteredModel, RegistryStore, RunData, Stage, StageChange, Store,
    TrackingStore, WhenApprovalsNeeded,
};
use crate::version_compare::{compare, Comparison};

/// Registers versions and changes them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Registry {
    store: RegistryStore,
    /// Runs, to copy a run's metrics and params onto a version registered from it.
    tracking: TrackingStore,
    reader: RegistryReader,
    events: EventBus,
}

impl Registry {
    /// The registry of `store`, announcing stage changes on `events`.
    pub fn new(store: &Store, events: EventBus) -> Registry {
        Registry {
            store: store.registry(),
            tracking: store.tracking(),
            reader: RegistryReader::new(store),
            events,
        }
    }

    /// What can be read.
    pub fn read(&self) -> &RegistryReader {
        &self.reader
    }

    /// Register a new version (stage None, or Staging when the model's gates pass).
    pub async fn register_version(&self, new: NewVersion) -> Result<ModelVersion> {
        check_model_name(&new.model)?;
        let version = self.store.create_version(new).await?;
        if version.stage != Stage::None {
            self.stage_changed(&version).await;
        }
        Ok(version)
    }

    /// Record a deploy block's decision.
    pub async fn record_deployment(&self, deployment: &Deployment) -> Result<()> {
        self.store.record_deployment(deployment).await
    }

    /// The one way to move a version between stages. `source` says who asks, which decides
    /// what happens when Production needs approvals ([`StageSource::when_approvals_needed`]);
    /// everything else (checks, archiving the previous Production version, the audit line,
    /// telling the prediction services) is the same for every source.
    pub async fn change_stage(
        &self,
        change: StageChange<'_>,
        source: StageSource,
    ) -> Result<Promotion> {
        check_model_name(change.model)?;
        check_user("actor", change.actor)?;
        check_reason("reason", change.reason)?;
        if source == StageSource::Promote
            && !matches!(change.to, Stage::Staging | Stage::Production)
        {
            return Err(Error::invalid_field(
                "to",
                format!(
                    "cannot promote to {}: use staging or production",
                    change.to.as_str()
                ),
            ));
        }
        if source == StageSource::Rollback && change.to != Stage::Production {
            return Err(Error::invalid_field(
                "to",
                "a rollback brings a version back to Production",
            ));
        }
        let outcome = self
            .store
            .change_stage(&change, source.when_approvals_needed())
            .await?;
        match &outcome {
            Promotion::Moved { version } => self.stage_changed(version).await,
            // A pipeline's request may have moved the version to Staging on the way.
            Promotion::Requested { .. } => {}
        }
        Ok(outcome)
    }

    /// A direct transition ([`StageSource::Transition`]): refused for Production when the
    /// model's policy requires approvals.
    pub async fn transition(
        &self,
        model: &str,
        version: i64,
        to: Stage,
        actor: &str,
        reason: &str,
    ) -> Result<ModelVersion> {
        let change = StageChange {
            model,
            version,
            to,
            actor,
            reason,
        };
        self.move_now(change, StageSource::Transition).await
    }

    /// Bring a previous version back to Production in one call, archiving the current one;
    /// audited as `rollback: <reason>`. Not subject to approvals (see [`StageSource::Rollback`]).
    pub async fn rollback(
        &self,
        model: &str,
        version: i64,
        actor: &str,
        reason: &str,
    ) -> Result<ModelVersion> {
        check_reason("reason", reason)?;
        let reason = format!("rollback: {reason}");
        let change = StageChange {
            model,
            version,
            to: Stage::Production,
            actor,
            reason: &reason,
        };
        self.move_now(change, StageSource::Rollback).await
    }

    /// [`Registry::change_stage`] for a source that never opens a request (a transition is
    /// refused instead, a rollback skips approvals): the moved version.
    async fn move_now(&self, change: StageChange<'_>, source: StageSource) -> Result<ModelVersion> {
        match self.change_stage(change, source).await? {
            Promotion::Moved { version } => Ok(version),
            Promotion::Requested { .. } => Err(Error::internal(format!(
                "a {source:?} stage change opened an approval request"
            ))),
        }
    }

    /// Open an approval request for a Staging version.
    pub async fn request_promotion(
        &self,
        model: &str,
        version: i64,
        reason: &str,
        requested_by: &str,
    ) -> Result<ApprovalRequest> {
        check_model_name(model)?;
        check_user("requested_by", requested_by)?;
        check_reason("reason", reason)?;
        self.store
            .request_promotion(model, version, reason, requested_by)
            .await
    }

    /// Approve a request; the N-th approval promotes.
    pub async fn approve(
        &self,
        model: &str,
        id: i64,
        user: &str,
        comment: &str,
    ) -> Result<ApprovalOutcome> {
        check_model_name(model)?;
        check_user("user", user)?;
        let outcome = self.store.approve(model, id, user, comment).await?;
        if let Some(v) = &outcome.promoted {
            self.stage_changed(v).await;
        }
        Ok(outcome)
    }

    /// Reject a request with a reason.
    pub async fn reject(
        &self,
        model: &str,
        id: i64,
        user: &str,
        reason: &str,
    ) -> Result<ApprovalRequest> {
        check_model_name(model)?;
        check_user("user", user)?;
        check_reason("reason", reason)?;
        self.store.reject(model, id, user, reason).await
    }

    /// Two versions side by side.
    pub async fn compare(&self, model: &str, a: i64, b: i64) -> Result<Comparison> {
        check_model_name(model)?;
        let (va, vb) = (
            self.store.version(model, a).await?,
            self.store.version(model, b).await?,
        );
        Ok(compare(&va, &vb))
    }

    /// Archive versions beyond the newest `n` (the policy's N when `n` is none).
    pub async fn keep_latest(&self, model: &str, n: Option<i64>, actor: &str) -> Result<Vec<i64>> {
        check_model_name(model)?;
        check_user("actor", actor)?;
        let n = match n {
            Some(n) => n,
            None => self
                .store
                .policy(model)
                .await?
                .settings
                .keep_latest_n
                .ok_or_else(|| {
                    Error::invalid_field(
                        "n",
                        format!("the policy of {model:?} sets no keep_latest_n: give n"),
                    )
                })?,
        };
        self.store.keep_latest(model, n, actor).await
    }

    /// Delete a version that is not in Production.
    pub async fn delete_version(
        &self,
        model: &str,
        version: i64,
        actor: &str,
        reason: &str,
    ) -> Result<()> {
        check_model_name(model)?;
        check_user("actor", actor)?;
        check_reason("reason", reason)?;
        self.store
            .delete_version(model, version, actor, reason)
            .await
    }

    /// Set a model's policy.
    pub async fn set_policy(
        &self,
        model: &str,
        settings: &PolicySettings,
        actor: &str,
    ) -> Result<Policy> {
        check_model_name(model)?;
        check_user("actor", actor)?;
        self.store.set_policy(model, settings, actor).await
    }

    /// Tell the prediction services (in every process) that a version changed stage.
    async fn stage_changed(&self, version: &ModelVersion) {
        self.events
            .publish(Event::StageChanged {
                model: version.model.clone(),
                version: version.version,
                stage: version.stage.as_str().into(),
            })
            .await;
    }

    // MLflow's registry calls: registered models, descriptions, tags, aliases.
    /// Create a registered model with no versions; a taken name is a conflict.
    pub async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &[KeyValue],
    ) -> Result<RegisteredModel> {
        self.store
            .create_registered_model(name, description, tags)
            .await
    }

    /// Change a registered model's description.
    pub async fn set_model_description(&self, name: &str, description: &str) -> Result<()> {
        self.store.set_model_description(name, description).await
    }

    /// Set (`Some`) or delete (`None`) a registered-model tag.
    pub async fn set_model_tag(&self, name: &str, key: &str, value: Option<&str>) -> Result<()> {
        self.store.set_model_tag(name, key, value).await
    }

    /// Register a version whose files MLflow logged (`source` `models:/m-…` or `runs:/…`).
    /// The source goes into the version's lineage, written with the version in one transaction.
    pub async fn create_mlflow_version(
        &self,
        model: &str,
        source: &str,
        run_id: Option<&str>,
        model_id: Option<&str>,
    ) -> Result<ModelVersion> {
        let run_data = match run_id {
            Some(run) => self.run_data(run).await?,
            None => RunData::default(),
        };
        self.store
            .create_mlflow_version(model, source, run_id, model_id, run_data)
            .await
    }

    /// A run's latest metrics and its params (numbers as numbers), for a version registered
    /// from it. A run unknown here (logged elsewhere) gives nothing.
    async fn run_data(&self, run_id: &str) -> Result<RunData> {
        let run = match self.tracking.tracking_run(run_id).await {
            Ok(run) => run,
            Err(e) if e.code == crate::ErrorCode::NotFound => return Ok(RunData::default()),
            Err(e) => return Err(e),
        };
        let metrics = run
            .metrics
            .iter()
            .map(|m| (m.key.clone(), serde_json::json!(m.value)))
            .collect();
        let params = run
            .params
            .iter()
            .map(|p| {
                let value = p
                    .value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| serde_json::json!(v))
                    .unwrap_or_else(|| serde_json::json!(p.value));
                (p.key.clone(), value)
            })
            .collect();
        Ok(RunData { metrics, params })
    }

    /// Change a version's description.
    pub async fn set_version_description(
        &self,
        model: &str,
        version: i64,
        description: &str,
    ) -> Result<()> {
        self.store
            .set_version_description(model, version, description)
            .await
    }

    /// Set (`Some`) or delete (`None`) a version tag.
    pub async fn set_version_tag(
        &self,
        model: &str,
        version: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        self.store.set_version_tag(model, version, key, value).await
    }

    /// Point `alias` at a version (moving it if it pointed elsewhere).
    pub async fn set_alias(&self, model: &str, alias: &str, version: i64) -> Result<()> {
        self.store.set_alias(model, alias, version).await
    }

    /// Remove an alias (a missing one is not an error, as in MLflow).
    pub async fn delete_alias(&self, model: &str, alias: &str) -> Result<()> {
        self.store.delete_alias(model, alias).await
    }
}

/// A user name (actor, approver): 1 to 128 characters, no control characters.
pub fn check_user(field: &str, user: &str) -> Result<()> {
    if user.trim().is_empty() || user.len() > 128 || user.chars().any(char::is_control) {
        return Err(Error::invalid_field(
            field,
            format!("invalid user {user:?}: use 1 to 128 printable characters"),
        ));
    }
    Ok(())
}

fn check_reason(field: &str, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::invalid_field(field, "a reason is required"));
    }
    Ok(())
}

/// Who asks for a stage change. The rule each follows when Production needs approvals is
/// [`StageSource::when_approvals_needed`], the only place where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageSource {
    /// A direct transition: `POST …/versions/{v}/transition`, the dashboard, MLflow's
    /// `transition-stage`. Moves to any stage.
    Transition,
    /// `ironmage models promote`: to Staging or Production.
    Promote,
    /// A pipeline's `deploy`/`promote` block whose gates passed.
    Pipeline,
    /// A rollback to a previous version.
    Rollback,
}

impl StageSource {
    /// What a move to Production does when the model's policy requires approvals:
    /// - a direct transition is refused (409) and names the way through, so no one reaches
    ///   Production around the approvals by picking another route;
    /// - a promotion opens the approval request itself (the CLI's one-step way to ask);
    /// - a pipeline moves the version to Staging and opens the request, so the run ends with
    ///   the version waiting for reviewers;
    /// - a rollback restores a version that was approved before, so it is not asked again.
    ///
    /// A model without a policy (or whose policy requires 0 approvals) is moved directly by
    /// every source.
    pub fn when_approvals_needed(self) -> WhenApprovalsNeeded {
        match self {
            StageSource::Transition => WhenApprovalsNeeded::Refuse,
            StageSource::Promote => WhenApprovalsNeeded::Request,
            StageSource::Pipeline => WhenApprovalsNeeded::StageThenRequest,
            StageSource::Rollback => WhenApprovalsNeeded::Skip,
        }
    }
}
