//! Validation gates: `metric op threshold` (e.g. `auc_score >= 0.85`, `rmspe < 0.10`),
//! parsed from text and checked against a version's metrics.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Comparison of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub enum GateOp {
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `<`
    #[serde(rename = "<")]
    Lt,
}

impl GateOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            GateOp::Ge => ">=",
            GateOp::Gt => ">",
            GateOp::Le => "<=",
            GateOp::Lt => "<",
        }
    }

    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            GateOp::Ge => value >= threshold,
            GateOp::Gt => value > threshold,
            GateOp::Le => value <= threshold,
            GateOp::Lt => value < threshold,
        }
    }
}

/// One validation gate: `metric op threshold`, e.g. `auc_score >= 0.85`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Metric name as stored with the version.
    pub metric: String,
    /// Comparison.
    pub op: GateOp,
    /// Threshold.
    pub threshold: f64,
}

impl Gate {
    /// Parse `auc_score>=0.85` (spaces allowed around the operator).
    pub fn parse(text: &str) -> Result<Gate> {
        let bad = |why: &str| {
            Error::invalid_field(
                "gate",
                format!(
                    "invalid gate {text:?}: {why}; write it like auc_score>=0.85 or rmspe<0.10"
                ),
            )
        };
        // Two-character operators first, so `>=` is not read as `>`.
        let (at, op) = [
            (">=", GateOp::Ge),
            ("<=", GateOp::Le),
            (">", GateOp::Gt),
            ("<", GateOp::Lt),
        ]
        .iter()
        .find_map(|(sym, op)| text.find(sym).map(|at| ((at, sym.len()), *op)))
        .ok_or_else(|| bad("no operator (>=, >, <=, <)"))?;
        let metric = text[..at.0].trim().to_string();
        let threshold: f64 = text[at.0 + at.1..]
            .trim()
            .parse()
            .map_err(|_| bad("the threshold is not a number"))?;
        let gate = Gate {
            metric,
            op,
            threshold,
        };
        gate.validate().map_err(|e| bad(&e.message))?;
        Ok(gate)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let ok_name = !self.metric.is_empty()
            && self.metric.len() <= 64
            && self
                .metric
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !ok_name {
            return Err(Error::invalid_field(
                "gates.metric",
                format!(
                    "metric name {:?} must be 1 to 64 letters, digits or '_'",
                    self.metric
                ),
            ));
        }
        if !self.threshold.is_finite() {
            return Err(Error::invalid_field(
                "gates.threshold",
                "must be a finite number",
            ));
        }
        Ok(())
    }

    /// Whether `metrics` pass this gate, and the verdict in words.
    pub fn check(&self, metrics: &Map<String, Value>) -> (bool, String) {
        let (metric, op, threshold) = (&self.metric, self.op.as_str(), self.threshold);
        match metrics.get(metric).and_then(Value::as_f64) {
            Some(v) if self.op.holds(v, threshold) => {
                (true, format!("{metric} {v} {op} {threshold}"))
            }
            Some(v) => (false, format!("{metric} {v} is not {op} {threshold}")),
            None => (
                false,
                format!("metric {metric} is missing (gate {metric} {op} {threshold})"),
            ),
        }
    }
}
