//! `deploy` (also `promote`): move a registered version to a stage (`to: production`, the
//! default, or `staging`) only when its validation gates pass: the block's own `gate` and
//! those of an upstream `evaluate`. A version with no gate at all is not promoted. Promoting
//! to Production archives the previous Production version in the same transaction; the
//! decision and its reason are recorded either way.
use super::gates::Gate;
use super::output::{single_input, Deployed, Output};
use crate::clock;
use crate::error::Result;
use crate::pipeline::context::BlockContext;
use crate::registry::StageSource;
use crate::store::{Deployment, Promotion, Stage, StageChange};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A gate on the version's metrics, besides any upstream `evaluate` gates.
    #[serde(default)]
    pub gate: Option<Gate>,
    /// The stage to promote to: `production` (default) or `staging`.
    #[serde(default = "production")]
    pub to: Target,
}

/// Where a passing version goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Served by the prediction service.
    Production,
    /// Under evaluation.
    Staging,
}

fn production() -> Target {
    Target::Production
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        match &self.gate {
            Some(gate) => gate.validate("gate"),
            None => Ok(()),
        }
    }
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let registered = single_input!(inputs, Registered);
    let version = &registered.version;
    let mut gates = registered
        .evaluation
        .clone()
        .map(|e| e.gates)
        .unwrap_or_default();
    if let Some(gate) = &config.gate {
        gates.push(gate.check(&version.metrics, "gate")?);
    }
    let passed = !gates.is_empty() && gates.iter().all(|g| g.passed);
    let reason = if gates.is_empty() {
        "no validation gate ran: add an evaluate block or a gate".to_string()
    } else {
        gates
            .iter()
            .map(|g| g.reason.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let stage = match config.to {
        Target::Production => Stage::Production,
        Target::Staging => Stage::Staging,
    };
    let mut pending_approval = false;
    if passed {
        let actor = format!("pipeline:{}", ctx.run_id);
        let reason = format!("validation gate passed: {reason}");
        let change = StageChange {
            model: &version.model,
            version: version.version,
            to: stage,
            actor: &actor,
            reason: &reason,
        };
        // A model whose policy requires approvals reaches Production only through them: the
        // registry moves the version to Staging and opens the request (StageSource::Pipeline).
        match ctx
            .services
            .registry
            .change_stage(change, StageSource::Pipeline)
            .await?
        {
            Promotion::Moved { .. } => ctx.log(format!(
                "✅ Deployed {} version {} ({}) to {}: {reason}",
                version.model,
                version.version,
                version.label,
                stage.as_str()
            )),
            Promotion::Requested { request } => {
                pending_approval = true;
                ctx.log(format!(
                    "⏳ {} version {} is in Staging; Production needs {} approval(s): request {}",
                    version.model, version.version, request.required_approvals, request.id
                ));
            }
        }
    } else {
        ctx.log(format!(
            "⛔ Not deployed: {reason}; {} is unchanged",
            stage.as_str()
        ));
    }
    let deployment = Deployment {
        model: version.model.clone(),
        version: version.version,
        run_id: Some(ctx.run_id.clone()),
        status: match (passed, pending_approval) {
            (true, true) => "pending_approval",
            (true, false) => "deployed",
            (false, _) => "rejected",
        }
        .into(),
        reason,
        created_at: clock::now(),
    };
    ctx.services.registry.record_deployment(&deployment).await?;
    Ok(Output::Deployed(Arc::new(Deployed { deployment })))
}
