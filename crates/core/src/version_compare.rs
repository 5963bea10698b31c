//! Two versions side by side: every metric and hyperparameter of either, with the difference
//! and, for metrics whose direction is known, which version is better.

use crate::store::ModelVersion;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Metrics where higher is better.
const HIGHER_IS_BETTER: &[&str] = &[
    "accuracy",
    "auc",
    "auc_score",
    "roc_auc",
    "precision",
    "recall",
    "f1",
    "f1_score",
    "r2",
];
/// Metrics where lower is better.
const LOWER_IS_BETTER: &[&str] = &[
    "rmse", "rmspe", "mse", "mae", "mape", "log_loss", "logloss", "brier",
];

/// One metric in both versions.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct MetricDiff {
    /// Metric name.
    pub name: String,
    /// Value in version A.
    pub a: Option<f64>,
    /// Value in version B.
    pub b: Option<f64>,
    /// `b - a`, when both are numbers.
    pub delta: Option<f64>,
    /// `"a"`, `"b"` or `"equal"` for known metrics; none when unknown or missing.
    pub better: Option<&'static str>,
}

/// One hyperparameter in both versions.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ParamDiff {
    /// Parameter name.
    pub name: String,
    /// Value in version A.
    pub a: Option<Value>,
    /// Value in version B.
    pub b: Option<Value>,
    /// Whether they differ.
    pub differs: bool,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// Model name.
    pub model: String,
    /// Version A's number.
    pub a: i64,
    /// Version B's number.
    pub b: i64,
    /// Stages of A and B.
    pub stages: [&'static str; 2],
    /// Metrics, by name.
    pub metrics: Vec<MetricDiff>,
    /// Hyperparameters, by name.
    pub params: Vec<ParamDiff>,
}

/// Compare `a` and `b` (versions of the same model).
pub fn compare(a: &ModelVersion, b: &ModelVersion) -> Comparison {
    let metrics = union(&a.metrics, &b.metrics)
        .map(|name| {
            let (va, vb) = (num(&a.metrics, name), num(&b.metrics, name));
            let delta = va.zip(vb).map(|(x, y)| y - x);
            MetricDiff {
                name: name.to_string(),
                a: va,
                b: vb,
                delta,
                better: delta.and_then(|d| better(name, d)),
            }
        })
        .collect();
    let params = union(&a.hyperparameters, &b.hyperparameters)
        .map(|name| {
            let (pa, pb) = (a.hyperparameters.get(name), b.hyperparameters.get(name));
            ParamDiff {
                name: name.to_string(),
                a: pa.cloned(),
                b: pb.cloned(),
                differs: pa != pb,
            }
        })
        .collect();
    Comparison {
        model: a.model.clone(),
        a: a.version,
        b: b.version,
        stages: [a.stage.as_str(), b.stage.as_str()],
        metrics,
        params,
    }
}

fn union<'m>(
    a: &'m Map<String, Value>,
    b: &'m Map<String, Value>,
) -> impl Iterator<Item = &'m str> {
    a.keys()
        .chain(b.keys())
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
}

fn num(m: &Map<String, Value>, name: &str) -> Option<f64> {
    m.get(name).and_then(Value::as_f64)
}

/// Which version wins a metric that moved by `delta` from A to B.
fn better(name: &str, delta: f64) -> Option<&'static str> {
    let sign = if HIGHER_IS_BETTER.contains(&name) {
        1.0
    } else if LOWER_IS_BETTER.contains(&name) {
        -1.0
    } else {
        return None;
    };
    Some(match delta * sign {
        d if d > 0.0 => "b",
        d if d < 0.0 => "a",
        _ => "equal",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ArtifactRefs, Stage};
    use serde_json::json;

    fn version(n: i64, metrics: Value, params: Value) -> ModelVersion {
        ModelVersion {
            model: "m".into(),
            version: n,
            label: format!("v{n}"),
            stage: Stage::None,
            run_id: None,
            dataset_version: None,
            artifacts: ArtifactRefs {
                model: String::new(),
                scaler: String::new(),
                schema: String::new(),
            },
            metrics: metrics.as_object().unwrap().clone(),
            hyperparameters: params.as_object().unwrap().clone(),
            lineage: json!({}),
            created_at: String::new(),
            gate_status: None,
            gate_reason: None,
        }
    }

    #[test]
    fn metrics_and_params_side_by_side() {
        let a = version(
            1,
            json!({"auc_score": 0.80, "rmspe": 0.2, "custom": 1.0}),
            json!({"max_depth": 6, "n": 10}),
        );
        let b = version(
            2,
            json!({"auc_score": 0.85, "rmspe": 0.1, "custom": 2.0, "recall": 0.5}),
            json!({"max_depth": 8, "n": 10}),
        );
        let c = compare(&a, &b);
        let m = |name: &str| c.metrics.iter().find(|d| d.name == name).unwrap();
        assert_eq!(m("auc_score").better, Some("b"));
        assert!((m("auc_score").delta.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(m("rmspe").better, Some("b"), "lower rmspe wins");
        assert_eq!(m("custom").better, None, "unknown direction");
        assert_eq!((m("recall").a, m("recall").delta), (None, None));
        let p = |name: &str| c.params.iter().find(|d| d.name == name).unwrap();
        assert!(p("max_depth").differs);
        assert!(!p("n").differs);
        let reversed = compare(&b, &a);
        assert_eq!(
            reversed
                .metrics
                .iter()
                .find(|d| d.name == "rmspe")
                .unwrap()
                .better,
            Some("a")
        );
    }
}
