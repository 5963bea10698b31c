//! Validation gates: thresholds on a trained model's test metrics, and their outcomes. The
//! `evaluate` and `deploy` blocks check them; the outputs carry the results downstream.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
