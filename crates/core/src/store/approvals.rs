//! The approval workflow for Production: a request on a Staging version, approvals by
//! distinct users, rejection with a reason; the N-th approval executes the promotion (and
//! archives the old Production) in the same transaction as the approval itself.

use super::audit::{lock_model, move_stage, stage_of, Audit};
use super::registry_policy::settings_in;
use super::versions::Stage;
use super::{ModelVersion, RegistryStore};
use crate::clock;
use crate::error::{Error, ErrorCode, Result};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A request to promote a version to Production.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ApprovalRequest {
    /// Request id.
    pub id: i64,
    /// Model name.
    pub model: String,
    /// Version to promote.
    pub version: i64,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Why the promotion is asked for.
    pub reason: String,
    /// Who asked.
    pub requested_by: String,
    /// Approvals needed (the policy's, when the request was made).
    pub required_approvals: i64,
    /// Approvals so far, oldest first.
    pub approvals: Vec<Approval>,
    /// Who closed it (the last approver, or the rejecter).
    pub decided_by: Option<String>,
    /// The rejection reason.
    pub decision_reason: Option<String>,
    /// When it was made.
    pub created_at: String,
    /// When it was closed.
    pub decided_at: Option<String>,
}

/// One user's approval.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Who approved.
    pub approver: String,
    /// Their comment.
    pub comment: String,
    /// When.
    pub created_at: String,
}

/// What an approval did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ApprovalOutcome {
    /// The request after the approval.
    pub request: ApprovalRequest,
    /// The version, promoted if this was the N-th approval.
    pub promoted: Option<ModelVersion>,
}

type Tx<'t> = sqlx::Transaction<'t, sqlx::Any>;

const REQUEST_COLUMNS: &str = "id, model, version, status, reason, requested_by, required_approvals, decided_by, decision_reason, created_at, decided_at";

impl RegistryStore {
    /// Ask for `version` of `model` to go to Production. The version must be in Staging and
    /// have no other pending request, and the policy must require approvals.
    pub async fn request_promotion(
        &self,
        model: &str,
        version: i64,
        reason: &str,
        requested_by: &str,
    ) -> Result<ApprovalRequest> {
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        lock_model(&mut tx, model, &now).await?;
        let request = open_request_in(&mut tx, model, version, reason, requested_by, &now).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// Approve a pending request as `approver` (once per user). The N-th approval promotes
    /// the version to Production in the same transaction.
    pub async fn approve(
        &self,
        model: &str,
        id: i64,
        approver: &str,
        comment: &str,
    ) -> Result<ApprovalOutcome> {
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        lock_model(&mut tx, model, &now).await?;
        let request = open_request(&mut tx, model, id).await?;
        let stage = stage_of(&mut tx, model, request.version).await?;
        if stage != Stage::Staging {
            return Err(Error::conflict(format!(
                "version {} of {model:?} left Staging (now {}): request {id} can no longer be approved",
                request.version,
                stage.as_str()
            )));
        }
        if request.approvals.iter().any(|a| a.approver == approver) {
            return Err(Error::conflict(format!(
                "{approver:?} already approved request {id}: approvals must come from distinct users"
            )));
        }
        sqlx::query("INSERT INTO approvals (request_id, approver, comment, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(approver)
            .bind(comment)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        let mut approvers: Vec<String> = request
            .approvals
            .iter()
            .map(|a| a.approver.clone())
            .collect();
        approvers.push(approver.to_string());
        let mut promoted = None;
        if approvers.len() as i64 >= request.required_approvals {
            let reason = format!("approved request {id}: {}", request.reason);
            let audit = Audit {
                actor: approver,
                reason: &reason,
                approvers: &approvers,
                request_id: Some(id),
                now: &now,
            };
            promoted =
                Some(move_stage(&mut tx, model, request.version, Stage::Production, &audit).await?);
            close(&mut tx, id, "approved", approver, None, &now).await?;
        }
        let request = request_in(&mut tx, model, id).await?;
        tx.commit().await?;
        Ok(ApprovalOutcome { request, promoted })
    }

    /// Reject a pending request with a reason; it is closed for good.
    pub async fn reject(
        &self,
        model: &str,
        id: i64,
        user: &str,
        reason: &str,
    ) -> Result<ApprovalRequest> {
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        lock_model(&mut tx, model, &now).await?;
        open_request(&mut tx, model, id).await?;
        close(&mut tx, id, "rejected", user, Some(reason), &now).await?;
        let request = request_in(&mut tx, model, id).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// One request of a model.
    pub async fn approval_request(&self, model: &str, id: i64) -> Result<ApprovalRequest> {
        let mut tx = self.pool.begin().await?;
        let request = request_in(&mut tx, model, id).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// A model's requests, newest first, optionally only those with `status`.
    pub async fn approval_requests(
        &self,
        model: &str,
        status: Option<&str>,
    ) -> Result<Vec<ApprovalRequest>> {
        if let Some(s) = status {
            if !["pending", "approved", "rejected"].contains(&s) {
                return Err(Error::invalid_field(
                    "status",
                    format!("unknown status {s:?}: expected pending, approved or rejected"),
                ));
            }
        }
        let mut tx = self.pool.begin().await?;
        let filter = if status.is_some() {
            " AND status = $2"
        } else {
            ""
        };
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM approval_requests WHERE model = $1{filter} ORDER BY id DESC");
        let mut query = sqlx::query(&sql).bind(model);
        if let Some(s) = status {
            query = query.bind(s);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(with_approvals(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Open a request inside a transaction that holds the model's lock ([`lock_model`]).
pub(crate) async fn open_request_in(
    tx: &mut Tx<'_>,
    model: &str,
    version: i64,
    reason: &str,
    requested_by: &str,
    now: &str,
) -> Result<ApprovalRequest> {
    let stage = stage_of(tx, model, version).await?;
    if stage != Stage::Staging {
        return Err(Error::conflict(format!(
            "version {version} of {model:?} is in {}: only a Staging version can be proposed for Production",
            stage.as_str()
        )));
    }
    let required = settings_in(tx, model).await?.required_approvals;
    if required == 0 {
        return Err(Error::conflict(format!(
            "the policy of {model:?} requires no approvals: transition the version to Production directly"
        )));
    }
    // The partial unique index turns a second pending request into a conflict.
    let row = sqlx::query("INSERT INTO approval_requests (model, version, status, reason, requested_by, required_approvals, created_at) VALUES ($1, $2, 'pending', $3, $4, $5, $6) RETURNING id")
        .bind(model)
        .bind(version)
        .bind(reason)
        .bind(requested_by)
        .bind(required)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| match Error::from(e) {
            e if e.code == ErrorCode::AlreadyExists => Error::conflict(format!("version {version} of {model:?} already has a pending request")),
            e => e,
        })?;
    let id: i64 = row.try_get("id")?;
    request_in(tx, model, id).await
}

async fn request_in(tx: &mut Tx<'_>, model: &str, id: i64) -> Result<ApprovalRequest> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests WHERE model = $1 AND id = $2"
    ))
    .bind(model)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(format!("model {model:?} has no approval request {id}")))?;
    with_approvals(tx, &row).await
}

async fn open_request(tx: &mut Tx<'_>, model: &str, id: i64) -> Result<ApprovalRequest> {
    let request = request_in(tx, model, id).await?;
    if request.status != "pending" {
        return Err(Error::conflict(format!(
            "request {id} is already {}",
            request.status
        )));
    }
    Ok(request)
}

async fn close(
    tx: &mut Tx<'_>,
    id: i64,
    status: &str,
    by: &str,
    reason: Option<&str>,
    now: &str,
) -> Result<()> {
    sqlx::query("UPDATE approval_requests SET status = $2, decided_by = $3, decision_reason = $4, decided_at = $5 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(by)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn with_approvals(tx: &mut Tx<'_>, row: &AnyRow) -> Result<ApprovalRequest> {
    let id: i64 = row.try_get("id")?;
    let approvals = sqlx::query("SELECT approver, comment, created_at FROM approvals WHERE request_id = $1 ORDER BY created_at, approver")
        .bind(id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|a| {
            Ok(Approval {
                approver: a.try_get("approver")?,
                comment: a.try_get("comment")?,
                created_at: a.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ApprovalRequest {
        id,
        model: row.try_get("model")?,
        version: row.try_get("version")?,
        status: row.try_get("status")?,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        required_approvals: row.try_get("required_approvals")?,
        approvals,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
    })
}
