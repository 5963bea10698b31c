//! `deploy`: the validation gate. A version whose metric clears the threshold becomes the
//! Production version (the previous one is archived in the same transaction); one that does
//! not leaves Production untouched, and the reason is recorded either way.

use super::{single_input, Output};
use crate::clock;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::pipeline::engine::BlockContext;
use crate::store::{Deployment, Stage};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Metrics a trainer records that a gate can test.
const GATE_METRICS: &[&str] = &["accuracy", "auc_score", "precision", "recall", "f1_score"];

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The gate to pass.
    pub gate: Gate,
}

/// A metric threshold: the version passes when `metric >= min`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Metric name, as stored with the version (`auc_score`, `accuracy`, …).
    pub metric: String,
    /// Lowest passing value.
    pub min: f64,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        if !GATE_METRICS.contains(&self.gate.metric.as_str()) {
            return Err(Error::invalid_field(
                "gate.metric",
                format!(
                    "unknown metric {:?} (known: {})",
                    self.gate.metric,
                    GATE_METRICS.join(", ")
                ),
            ));
        }
        if !self.gate.min.is_finite() {
            return Err(Error::invalid_field("gate.min", "must be a finite number"));
        }
        Ok(())
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
    let gate = &config.gate;
    let value = version
        .metrics
        .get(&gate.metric)
        .and_then(Value::as_f64)
        .ok_or_else(|| {
            let known: Vec<&String> = version.metrics.keys().collect();
            Error::invalid_field(
                "config.gate.metric",
                format!(
                    "version {} has no metric {:?} (known: {known:?})",
                    version.version, gate.metric
                ),
            )
        })?;
    let passed = value >= gate.min;
    let reason = format!(
        "{} {value:.4} {} {}",
        gate.metric,
        if passed { ">=" } else { "<" },
        gate.min
    );
    let store = &ctx.platform.store;
    if passed {
        let actor = format!("pipeline:{}", ctx.run_id);
        store
            .transition(
                &version.model,
                version.version,
                Stage::Production,
                &actor,
                &format!("validation gate passed: {reason}"),
            )
            .await?;
        ctx.platform
            .events
            .publish(Event::StageChanged {
                model: version.model.clone(),
                version: version.version,
                stage: "Production".into(),
            })
            .await;
        ctx.log(format!(
            "✅ Deployed {} version {} ({}) to Production: {reason}",
            version.model, version.version, version.label
        ));
    } else {
        ctx.log(format!(
            "⛔ Not deployed: {reason}; Production is unchanged"
        ));
    }
    let deployment = Deployment {
        model: version.model.clone(),
        version: version.version,
        run_id: Some(ctx.run_id.clone()),
        status: if passed { "deployed" } else { "rejected" }.into(),
        reason,
        created_at: clock::now(),
    };
    store.record_deployment(&deployment).await?;
    Ok(Output::Deployed(Arc::new(Deployed { deployment })))
}

impl Deployed {
    pub(super) fn preview(&self) -> Value {
        json!({"deployment": self.deployment})
    }
}
