//! The registry workflows as user actions, shared by REST and CLI: promote (directly, or
//! through an approval request when the policy asks for approvals), approve, reject,
//! rollback, compare, keep-latest-N, delete, and the policy. Inputs are checked here, and
//! the prediction services are told when Production changes.

use crate::error::{Error, Result};
use crate::events::Event;
use crate::names::check_model_name;
use crate::platform::Platform;
use crate::store::{ApprovalOutcome, ApprovalRequest, ModelVersion, Policy, PolicySettings, Stage};
use crate::version_compare::{compare, Comparison};
use serde::Serialize;

/// What a promotion did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Promotion {
    /// The version moved.
    Moved {
        /// The version after the move.
        version: ModelVersion,
    },
    /// Production needs approvals: a request was opened.
    Requested {
        /// The open request.
        request: ApprovalRequest,
    },
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

impl Platform {
    async fn production_changed(&self, version: &ModelVersion) {
        self.events
            .publish(Event::StageChanged {
                model: version.model.clone(),
                version: version.version,
                stage: version.stage.as_str().into(),
            })
            .await;
    }

    /// Move a version to Staging, or to Production: directly when the model's policy needs
    /// no approvals, otherwise by opening an approval request.
    pub async fn promote(
        &self,
        model: &str,
        version: i64,
        to: Stage,
        actor: &str,
        reason: &str,
    ) -> Result<Promotion> {
        check_model_name(model)?;
        check_user("actor", actor)?;
        check_reason("reason", reason)?;
        match to {
            Stage::Staging => {}
            Stage::Production
                if self.store.policy(model).await?.settings.required_approvals > 0 =>
            {
                let request = self
                    .store
                    .request_promotion(model, version, reason, actor)
                    .await?;
                return Ok(Promotion::Requested { request });
            }
            Stage::Production => {}
            other => {
                return Err(Error::invalid_field(
                    "to",
                    format!(
                        "cannot promote to {}: use staging or production",
                        other.as_str()
                    ),
                ))
            }
        }
        let version = self.transition(model, version, to, actor, reason).await?;
        Ok(Promotion::Moved { version })
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
            self.production_changed(v).await;
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

    /// Bring a previous version back to Production in one call (no approval: it restores a
    /// version that was approved before), archiving the current one.
    pub async fn rollback(
        &self,
        model: &str,
        version: i64,
        actor: &str,
        reason: &str,
    ) -> Result<ModelVersion> {
        check_user("actor", actor)?;
        check_reason("reason", reason)?;
        self.move_stage(
            model,
            version,
            Stage::Production,
            actor,
            &format!("rollback: {reason}"),
        )
        .await
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
}
