//! `evaluate`: validation gates over a trained model's test metrics. The model passes when
//! every gate holds; the preview says `passed` and gives one reason per gate. A downstream
//! `deploy` promotes only a model whose gates passed.

use super::{single_input, Output};
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// Metrics a gate can test.
pub const GATE_METRICS: &[&str] = &[
    "accuracy",
    "auc_score",
    "precision",
    "recall",
    "f1_score",
    "rmse",
    "mae",
    "r2",
    "rmspe",
];

/// A threshold on one metric: `min <= value` and/or `value < max`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Metric name, as the trainer records it (`auc_score`, `rmspe`, …).
    pub metric: String,
    /// Lowest passing value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Passing values are below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Gate {
    /// Check the gate, naming the field under `at` (`gates[0]`, `gate`).
    pub fn validate(&self, at: &str) -> Result<()> {
        if !GATE_METRICS.contains(&self.metric.as_str()) {
            return Err(Error::invalid_field(
                format!("{at}.metric"),
                format!(
                    "unknown metric {:?} (known: {})",
                    self.metric,
                    GATE_METRICS.join(", ")
                ),
            ));
        }
        if self.min.is_none() && self.max.is_none() {
            return Err(Error::invalid_field(at, "set min, max or both"));
        }
        for (name, v) in [("min", self.min), ("max", self.max)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(Error::invalid_field(
                    format!("{at}.{name}"),
                    "must be a finite number",
                ));
            }
        }
        Ok(())
    }

    /// Test the gate against a metrics map; an absent metric is an error naming the field.
    pub fn check(&self, metrics: &serde_json::Map<String, Value>, at: &str) -> Result<GateResult> {
        let value = metrics
            .get(&self.metric)
            .and_then(Value::as_f64)
            .ok_or_else(|| {
                let known: Vec<&String> = metrics.keys().filter(|k| metrics[*k].is_f64()).collect();
                Error::invalid_field(
                    format!("config.{at}.metric"),
                    format!(
                        "the model has no metric {:?} (it has {known:?})",
                        self.metric
                    ),
                )
            })?;
        let mut reasons = Vec::new();
        let mut passed = true;
        if let Some(min) = self.min {
            passed &= value >= min;
            reasons.push(format!(
                "{} {value:.4} {} {min}",
                self.metric,
                if value >= min { ">=" } else { "<" }
            ));
        }
        if let Some(max) = self.max {
            passed &= value < max;
            reasons.push(format!(
                "{} {value:.4} {} {max}",
                self.metric,
                if value < max { "<" } else { ">=" }
            ));
        }
        Ok(GateResult {
            metric: self.metric.clone(),
            value,
            passed,
            reason: reasons.join(", "),
        })
    }
}

/// One gate's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateResult {
    /// The metric.
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// Whether the gate holds.
    pub passed: bool,
    /// `rmspe 0.0812 < 0.1`.
    pub reason: String,
}

/// Every gate's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// All gates hold.
    pub passed: bool,
    /// One per gate, in config order.
    pub gates: Vec<GateResult>,
}

impl Evaluation {
    /// The reasons, joined.
    pub fn reason(&self) -> String {
        self.gates
            .iter()
            .map(|g| g.reason.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The gates; all must hold.
    pub gates: Vec<Gate>,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        if self.gates.is_empty() {
            return Err(Error::invalid_field("gates", "list at least one gate"));
        }
        for (i, gate) in self.gates.iter().enumerate() {
            gate.validate(&format!("gates[{i}]"))?;
        }
        Ok(())
    }
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let trained = single_input!(inputs, Trained);
    let gates = config
        .gates
        .iter()
        .enumerate()
        .map(|(i, g)| g.check(&trained.metrics, &format!("gates[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let evaluation = Evaluation {
        passed: gates.iter().all(|g| g.passed),
        gates,
    };
    for g in &evaluation.gates {
        ctx.log(format!(
            "{} {}",
            if g.passed { "✅" } else { "⛔" },
            g.reason
        ));
    }
    ctx.log(if evaluation.passed {
        "✅ Validation gates passed"
    } else {
        "⛔ Validation gates failed"
    });
    let mut next = (*trained).clone();
    next.evaluation = Some(evaluation);
    Ok(Output::Trained(Arc::new(next)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gates_pass_fail_and_name_fields() {
        let metrics = json!({"rmspe": 0.08, "auc_score": 0.7})
            .as_object()
            .unwrap()
            .clone();
        let below = Gate {
            metric: "rmspe".into(),
            min: None,
            max: Some(0.1),
        };
        assert!(below.check(&metrics, "gates[0]").unwrap().passed);
        let auc = Gate {
            metric: "auc_score".into(),
            min: Some(0.75),
            max: None,
        };
        let result = auc.check(&metrics, "gates[1]").unwrap();
        assert!(!result.passed);
        assert_eq!(result.reason, "auc_score 0.7000 < 0.75");
        let absent = Gate {
            metric: "rmse".into(),
            min: Some(1.0),
            max: None,
        };
        assert_eq!(
            absent
                .check(&metrics, "gates[2]")
                .unwrap_err()
                .field
                .as_deref(),
            Some("config.gates[2].metric")
        );
        let unknown = Gate {
            metric: "speed".into(),
            min: Some(1.0),
            max: None,
        };
        assert_eq!(
            unknown.validate("gates[0]").unwrap_err().field.as_deref(),
            Some("gates[0].metric")
        );
        let empty = Gate {
            metric: "rmse".into(),
            min: None,
            max: None,
        };
        assert_eq!(
            empty.validate("gates[0]").unwrap_err().field.as_deref(),
            Some("gates[0]")
        );
    }
}
