//! Per-model registry policy: validation gates evaluated at registration (pass → Staging,
//! fail → stays None with the reason), approvals required for Production, and keep-latest-N
//! archiving. Also deletion of versions, which the policy's archiving sits next to.

use super::audit::{insert_transition, lock_model, move_stage, stage_of, Audit};
use super::gates::Gate;
use super::versions::Stage;
use super::{json_column, RegistryStore};
use crate::clock;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;

/// Approvals a Production promotion needs when the model has no policy.
pub const DEFAULT_APPROVALS: i64 = 1;
/// Most approvals a policy may ask for.
pub const MAX_APPROVALS: i64 = 10;
/// Most gates per model.
pub const MAX_GATES: usize = 20;

/// What a user sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// Validation gates, all of which must pass for automatic Staging.
    #[serde(default)]
    pub gates: Vec<Gate>,
    /// Approvals a Production promotion needs (0: none, promote directly).
    #[serde(default = "default_approvals")]
    pub required_approvals: i64,
    /// Keep only the newest N versions out of Archived (Production is never archived by it).
    #[serde(default)]
    pub keep_latest_n: Option<i64>,
}

fn default_approvals() -> i64 {
    DEFAULT_APPROVALS
}

/// A new policy: the settings a user starts from when setting a model's first policy.
impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            required_approvals: DEFAULT_APPROVALS,
            ..PolicySettings::none()
        }
    }
}

impl PolicySettings {
    /// The settings of a model that has no policy: no gates, no approvals, nothing archived.
    /// (A policy that is set without naming `required_approvals` asks for
    /// [`DEFAULT_APPROVALS`]: whoever sets a policy is asking for review.)
    pub fn none() -> Self {
        PolicySettings {
            gates: Vec::new(),
            required_approvals: 0,
            keep_latest_n: None,
        }
    }

    /// Check ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.gates.len() > MAX_GATES {
            return Err(Error::invalid_field(
                "gates",
                format!("at most {MAX_GATES} gates"),
            ));
        }
        for gate in &self.gates {
            gate.validate()?;
        }
        if !(0..=MAX_APPROVALS).contains(&self.required_approvals) {
            return Err(Error::invalid_field(
                "required_approvals",
                format!(
                    "must be between 0 and {MAX_APPROVALS}, got {}",
                    self.required_approvals
                ),
            ));
        }
        if let Some(n) = self.keep_latest_n {
            if !(1..=10_000).contains(&n) {
                return Err(Error::invalid_field(
                    "keep_latest_n",
                    format!("must be between 1 and 10000, got {n}"),
                ));
            }
        }
        Ok(())
    }
}

/// A model's policy as stored.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Policy {
    /// Model name.
    pub model: String,
    /// The settings.
    #[serde(flatten)]
    pub settings: PolicySettings,
    /// Who set it last (`default` when never set).
    pub updated_by: String,
    /// When (empty when never set).
    pub updated_at: String,
}

impl Policy {
    /// Whether someone set this policy (else it is [`PolicySettings::none`]).
    pub fn is_set(&self) -> bool {
        !self.updated_at.is_empty()
    }
}

type Tx<'t> = sqlx::Transaction<'t, sqlx::Any>;

async fn policy_in<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    model: &str,
) -> Result<Option<Policy>> {
    let row = sqlx::query("SELECT gates, required_approvals, keep_latest_n, updated_by, updated_at FROM model_policies WHERE model = $1")
        .bind(model)
        .fetch_optional(executor)
        .await?;
    row.map(|r| {
        Ok(Policy {
            model: model.to_string(),
            settings: PolicySettings {
                gates: json_column(&r, "gates")?,
                required_approvals: r.try_get("required_approvals")?,
                keep_latest_n: r.try_get("keep_latest_n")?,
            },
            updated_by: r.try_get("updated_by")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// The settings in force for `model` inside a transaction (defaults when none were set).
pub(crate) async fn settings_in(tx: &mut Tx<'_>, model: &str) -> Result<PolicySettings> {
    Ok(policy_in(&mut **tx, model)
        .await?
        .map(|p| p.settings)
        .unwrap_or_else(PolicySettings::none))
}

/// Evaluate the model's gates on a just-registered version: all pass → Staging (actor `gate`),
/// any fails → stays None with the reasons. Without gates, nothing happens.
pub(crate) async fn apply_gates(
    tx: &mut Tx<'_>,
    model: &str,
    version: i64,
    metrics: &Map<String, Value>,
    now: &str,
) -> Result<()> {
    let gates = settings_in(tx, model).await?.gates;
    if gates.is_empty() {
        return Ok(());
    }
    let verdicts: Vec<(bool, String)> = gates.iter().map(|g| g.check(metrics)).collect();
    let passed = verdicts.iter().all(|(ok, _)| *ok);
    let reason = verdicts
        .iter()
        .filter(|(ok, _)| *ok == passed)
        .map(|(_, why)| why.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    sqlx::query("UPDATE model_versions SET gate_status = $3, gate_reason = $4 WHERE model = $1 AND version = $2")
        .bind(model)
        .bind(version)
        .bind(if passed { "passed" } else { "failed" })
        .bind(&reason)
        .execute(&mut **tx)
        .await?;
    if passed {
        let why = format!("validation gates passed: {reason}");
        move_stage(
            tx,
            model,
            version,
            Stage::Staging,
            &Audit::by("gate", &why, now),
        )
        .await?;
    }
    Ok(())
}

impl RegistryStore {
    /// A model's policy; [`PolicySettings::none`] if none was set. Not found if the model is unknown.
    pub async fn policy(&self, model: &str) -> Result<Policy> {
        if let Some(p) = policy_in(&self.pool, model).await? {
            return Ok(p);
        }
        let known = sqlx::query("SELECT 1 FROM registered_models WHERE name = $1")
            .bind(model)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        if !known {
            return Err(Error::not_found(format!("model {model:?} not found")));
        }
        Ok(Policy {
            model: model.to_string(),
            settings: PolicySettings::none(),
            updated_by: "default".into(),
            updated_at: String::new(),
        })
    }

    /// Set a model's policy (a model may get its policy before its first version).
    pub async fn set_policy(
        &self,
        model: &str,
        settings: &PolicySettings,
        actor: &str,
    ) -> Result<Policy> {
        settings.validate()?;
        sqlx::query("INSERT INTO model_policies (model, gates, required_approvals, keep_latest_n, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (model) DO UPDATE SET gates = $2, required_approvals = $3, keep_latest_n = $4, updated_by = $5, updated_at = $6")
            .bind(model)
            .bind(serde_json::to_string(&settings.gates)?)
            .bind(settings.required_approvals)
            .bind(settings.keep_latest_n)
            .bind(actor)
            .bind(clock::now())
            .execute(&self.writer)
            .await?;
        self.policy(model).await
    }

    /// Archive the versions older than the newest `n` that are in None or Staging
    /// (Production and deleted versions are left alone). Returns the archived numbers.
    pub async fn keep_latest(&self, model: &str, n: i64, actor: &str) -> Result<Vec<i64>> {
        if n < 1 {
            return Err(Error::invalid_field("keep_latest_n", "must be at least 1"));
        }
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        lock_model(&mut tx, model, &now).await?;
        let rows = sqlx::query("SELECT version FROM model_versions WHERE model = $1 AND deleted_at IS NULL AND stage IN ('None', 'Staging') AND version < (SELECT MIN(version) FROM (SELECT version FROM model_versions WHERE model = $1 AND deleted_at IS NULL ORDER BY version DESC LIMIT $2) newest) ORDER BY version")
            .bind(model)
            .bind(n)
            .fetch_all(&mut *tx)
            .await?;
        let reason = format!("keep-latest-{n}: older than the {n} newest versions");
        let mut archived = Vec::with_capacity(rows.len());
        for row in &rows {
            let version: i64 = row.try_get("version")?;
            move_stage(
                &mut tx,
                model,
                version,
                Stage::Archived,
                &Audit::by(actor, &reason, &now),
            )
            .await?;
            archived.push(version);
        }
        tx.commit().await?;
        Ok(archived)
    }

    /// Apply the policy's keep-latest-N, if it sets one (after each registration).
    pub(crate) async fn apply_keep_latest(&self, model: &str) -> Result<Vec<i64>> {
        match policy_in(&self.pool, model)
            .await?
            .and_then(|p| p.settings.keep_latest_n)
        {
            Some(n) => self.keep_latest(model, n, "policy").await,
            None => Ok(Vec::new()),
        }
    }

    /// Delete a version that is not in Production: it leaves every listing, its number is
    /// never reused, its open approval request is closed, and the audit log says who and why.
    pub async fn delete_version(
        &self,
        model: &str,
        version: i64,
        actor: &str,
        reason: &str,
    ) -> Result<()> {
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        lock_model(&mut tx, model, &now).await?;
        let stage = stage_of(&mut tx, model, version).await?;
        if stage == Stage::Production {
            return Err(Error::conflict(format!(
                "version {version} of {model:?} is in Production: promote or roll back to another version before deleting it"
            )));
        }
        sqlx::query("UPDATE model_versions SET deleted_at = $3 WHERE model = $1 AND version = $2")
            .bind(model)
            .bind(version)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE approval_requests SET status = 'rejected', decided_by = $3, decision_reason = 'version deleted', decided_at = $4 WHERE model = $1 AND version = $2 AND status = 'pending'")
            .bind(model)
            .bind(version)
            .bind(actor)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        insert_transition(
            &mut tx,
            model,
            version,
            stage.as_str(),
            "Deleted",
            &Audit::by(actor, reason, &now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
