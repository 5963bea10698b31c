//! `evaluate`: validation gates over a trained model's test metrics. The model passes when
//! every gate holds; the preview says `passed` and gives one reason per gate. A downstream
//! `deploy` promotes only a model whose gates passed.

use super::gates::{Evaluation, Gate};
use super::output::{single_input, Output};
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use serde::Deserialize;
use std::sync::Arc;

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
