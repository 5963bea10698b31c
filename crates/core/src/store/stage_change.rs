//! The one stage change: every move of a version between stages that a person or a pipeline
//! asks for (REST, MLflow's `transition-stage`, the CLI, the `deploy` block, rollback) is this
//! transaction. Who asks decides only one thing, what happens when Production needs approvals
//! the move does not carry ([`WhenApprovalsNeeded`]); the approval check, the archive of the
//! previous Production version and the audit line are the same for all, and atomic.

use super::approvals::{open_request_in, ApprovalRequest};
use super::audit::{lock_model, move_stage, stage_of, Audit};
use super::registry_policy::settings_in;
use super::versions::{ModelVersion, Stage};
use super::RegistryStore;
use crate::clock;
use crate::error::{Error, Result};
use serde::Serialize;

impl RegistryStore {
    /// Move `version` of `model` to `to`, audited, in one transaction. When `to` is Production
    /// and the model's policy requires approvals, `when_approvals_needed` decides (see
    /// [`WhenApprovalsNeeded`]). Moving to Production archives the previous Production version.
    pub async fn change_stage(
        &self,
        change: &StageChange<'_>,
        when_approvals_needed: WhenApprovalsNeeded,
    ) -> Result<Promotion> {
        let StageChange {
            model,
            version,
            to,
            actor,
            reason,
        } = *change;
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        // Write first: on SQLite this takes the write lock before anything is read, so the
        // policy read below cannot change before the move commits.
        lock_model(&mut tx, model, &now).await?;
        let required = settings_in(&mut tx, model).await?.required_approvals;
        let audit = Audit::by(actor, reason, &now);
        let needs_approvals = to == Stage::Production && required > 0;
        let outcome = match (needs_approvals, when_approvals_needed) {
            (false, _) | (true, WhenApprovalsNeeded::Skip) => Promotion::Moved {
                version: move_stage(&mut tx, model, version, to, &audit).await?,
            },
            (true, WhenApprovalsNeeded::Refuse) => {
                return Err(Error::conflict(format!(
                    "model {model} needs {required} approval(s) for Production (its policy): request them with `ironmage models promote {model} --version {version} --to production` or POST /api/models/{model}/requests"
                )))
            }
            (true, WhenApprovalsNeeded::Request) => Promotion::Requested {
                request: open_request_in(&mut tx, model, version, reason, actor, &now).await?,
            },
            (true, WhenApprovalsNeeded::StageThenRequest) => {
                if stage_of(&mut tx, model, version).await? != Stage::Staging {
                    move_stage(&mut tx, model, version, Stage::Staging, &audit).await?;
                }
                Promotion::Requested {
                    request: open_request_in(&mut tx, model, version, reason, actor, &now).await?,
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

/// One asked-for stage change.
#[derive(Debug, Clone, Copy)]
pub struct StageChange<'a> {
    /// Model name.
    pub model: &'a str,
    /// Version number.
    pub version: i64,
    /// Target stage.
    pub to: Stage,
    /// Who asks (a user, `pipeline:<run id>`, `mlflow`).
    pub actor: &'a str,
    /// Why; written to the audit log.
    pub reason: &'a str,
}

/// What a move to Production does when the model's policy requires approvals. A model without
/// a policy, or whose policy requires none, is moved directly whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenApprovalsNeeded {
    /// Refuse (409) and name the way through: a direct transition cannot skip approvals.
    Refuse,
    /// Open an approval request for the (Staging) version instead of moving it.
    Request,
    /// Move the version to Staging if it is not there, then open a request (a pipeline whose
    /// gates passed).
    StageThenRequest,
    /// Move anyway: a rollback restores a version that was approved before.
    Skip,
}

/// What a stage change did.
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
