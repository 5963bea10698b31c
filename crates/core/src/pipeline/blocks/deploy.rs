//! `deploy` (also `promote`): move a registered version to a stage (`to: production`, the
//! default, or `staging`) only when its validation gates pass: the block's own `gate` and
//! those of an upstream `evaluate`. A version with no gate at all is not promoted. Promoting
//! to Production archives the previous Production version in the same transaction; the
//! decision and its reason are recorded either way.
use super::evaluate::Gate;
use super::{single_input, Output};
use crate::clock;
use crate::error::Result;
use crate::events::Event;
use crate::pipeline::engine::BlockContext;
use crate::store::{Deployment, Stage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
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

/// The decision.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Deployed {
    /// The recorded decision.
    pub deployment: Deployment,
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
    let (stage, stage_name) = match config.to {
        Target::Production => (Stage::Production, "Production"),
        Target::Staging => (Stage::Staging, "Staging"),
    };
    let store = &ctx.platform.store;
    // A model whose policy requires approvals reaches Production only through them: the
    // pipeline moves the version to Staging and asks.
    let needs_approval =
        passed && stage == Stage::Production && store.approvals_binding(&version.model).await? > 0;
    if needs_approval {
        let actor = format!("pipeline:{}", ctx.run_id);
        if store.version(&version.model, version.version).await?.stage != Stage::Staging {
            ctx.platform
                .move_stage(
                    &version.model,
                    version.version,
                    Stage::Staging,
                    &actor,
                    &format!("validation gate passed: {reason}"),
                )
                .await?;
        }
        let request = store
            .request_promotion(
                &version.model,
                version.version,
                &format!("validation gate passed: {reason}"),
                &actor,
            )
            .await?;
        ctx.log(format!(
            "⏳ {} version {} is in Staging; Production needs {} approval(s): request {}",
            version.model, version.version, request.required_approvals, request.id
        ));
    } else if passed {
        let actor = format!("pipeline:{}", ctx.run_id);
        store
            .transition(
                &version.model,
                version.version,
                stage,
                &actor,
                &format!("validation gate passed: {reason}"),
            )
            .await?;
        ctx.platform
            .events
            .publish(Event::StageChanged {
                model: version.model.clone(),
                version: version.version,
                stage: stage_name.into(),
            })
            .await;
        ctx.log(format!(
            "✅ Deployed {} version {} ({}) to {stage_name}: {reason}",
            version.model, version.version, version.label
        ));
    } else {
        ctx.log(format!(
            "⛔ Not deployed: {reason}; {stage_name} is unchanged"
        ));
    }
    let deployment = Deployment {
        model: version.model.clone(),
        version: version.version,
        run_id: Some(ctx.run_id.clone()),
        status: match (passed, needs_approval) {
            (true, true) => "pending_approval",
            (true, false) => "deployed",
            (false, _) => "rejected",
        }
        .into(),
        reason,
        created_at: clock::now(),
    };
    store.record_deployment(&deployment).await?;
    Ok(Output::Deployed(Arc::new(Deployed { deployment })))
}

impl Deployed {
    pub(super) fn preview(&self) -> Value {
        let d = &self.deployment;
        json!({"deployment": d, "passed": d.status == "deployed", "status": d.status, "version": d.version})
    }
}
