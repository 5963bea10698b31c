//! `random_forest_classifier`: fit ironmage's random forest and evaluate it on the test part.

use super::{single_input, Output, Prepared};
use crate::error::{Error, Result};
use crate::ml::{ClassificationMetrics, MaxFeatures, RandomForestClassifier, RandomForestParams};
use crate::pipeline::engine::BlockContext;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The block's config: scikit-learn's names and defaults, except the demo's depth and seed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Number of trees.
    #[serde(default = "default_trees")]
    pub n_estimators: usize,
    /// Depth limit (none when absent).
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Minimum samples to split a node.
    #[serde(default = "two")]
    pub min_samples_split: usize,
    /// Minimum samples in a leaf.
    #[serde(default = "one")]
    pub min_samples_leaf: usize,
    /// Features tried per split: `sqrt`, `log2`, `all`, a count or a fraction.
    #[serde(default = "default_max_features")]
    pub max_features: Value,
    /// Sample rows with replacement per tree.
    #[serde(default = "yes")]
    pub bootstrap: bool,
    /// Seed of the forest.
    #[serde(default)]
    pub random_state: u64,
    /// Probability of the positive class above which a row is predicted positive.
    #[serde(default = "half")]
    pub threshold: f64,
}

fn default_trees() -> usize {
    100
}
fn two() -> usize {
    2
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn half() -> f64 {
    0.5
}
fn default_max_features() -> Value {
    json!("sqrt")
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        self.params()?.validate().map_err(Error::from)?;
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(Error::invalid_field("threshold", "must be between 0 and 1"));
        }
        Ok(())
    }

    fn params(&self) -> Result<RandomForestParams> {
        let max_features = match &self.max_features {
            Value::String(s) if s == "sqrt" => MaxFeatures::Sqrt,
            Value::String(s) if s == "log2" => MaxFeatures::Log2,
            Value::String(s) if s == "all" => MaxFeatures::All,
            Value::Number(n) if n.is_u64() => MaxFeatures::Count(n.as_u64().unwrap_or(1) as usize),
            Value::Number(n) => MaxFeatures::Fraction(n.as_f64().unwrap_or(1.0)),
            other => {
                return Err(Error::invalid_field(
                    "max_features",
                    format!("expected sqrt, log2, all, a count or a fraction, got {other}"),
                ))
            }
        };
        Ok(RandomForestParams {
            n_estimators: self.n_estimators,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features,
            bootstrap: self.bootstrap,
            random_state: self.random_state,
            ..RandomForestParams::default()
        })
    }
}

/// A fitted model and how it did on the test part.
#[derive(Debug)]
pub struct Trained {
    /// What it was trained on.
    pub prepared: Arc<Prepared>,
    /// The forest.
    pub forest: RandomForestClassifier,
    /// Probability cut-off for the positive class.
    pub threshold: f64,
    /// The config as hyperparameters.
    pub hyperparameters: Map<String, Value>,
    /// Test metrics.
    pub metrics: ClassificationMetrics,
    /// Features by decreasing importance.
    pub feature_importance: Vec<(String, f64)>,
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let prepared = single_input!(inputs, Prepared);
    let params = config.params()?;
    let threshold = config.threshold;
    let data = prepared.clone();
    let (forest, metrics) = ctx
        .blocking(move || {
            let forest = params.fit(data.x_train.view(), &data.y_train)?;
            if forest.n_classes() != 2 {
                return Err(Error::invalid(format!(
                    "a binary classifier needs both classes in the training part, found {} class(es): give it more rows",
                    forest.n_classes()
                )));
            }
            let proba = forest.predict_proba(data.x_test.view());
            let positive: Vec<f64> = proba.column(1).to_vec();
            let metrics = ClassificationMetrics::compute(&data.y_test, &positive, threshold)?;
            Ok((forest, metrics))
        })
        .await?;
    let mut feature_importance: Vec<(String, f64)> = prepared
        .dataset
        .data
        .feature_names
        .iter()
        .cloned()
        .zip(forest.feature_importances())
        .collect();
    feature_importance.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let hyperparameters = match serde_json::to_value(&config)? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    ctx.log("✅ Model trained successfully!");
    ctx.log(format!(
        "   Trained on {} samples, tested on {}",
        prepared.y_train.len(),
        prepared.y_test.len()
    ));
    ctx.log(format!("   Accuracy: {:.4}", metrics.accuracy));
    ctx.log(format!("   AUC Score: {:.4}", metrics.auc_score));
    ctx.log(format!(
        "   Precision {:.4} / Recall {:.4} / F1 {:.4}",
        metrics.precision, metrics.recall, metrics.f1_score
    ));
    let top: Vec<&str> = feature_importance
        .iter()
        .take(3)
        .map(|(n, _)| n.as_str())
        .collect();
    ctx.log(format!("   Top 3 features: [{}]", top.join(", ")));
    ctx.platform
        .log_training(
            &ctx.run_id,
            &hyperparameters,
            &serde_json::to_value(metrics)?,
        )
        .await;
    Ok(Output::Trained(Arc::new(Trained {
        prepared,
        forest,
        threshold,
        hyperparameters,
        metrics,
        feature_importance,
    })))
}

impl Trained {
    /// Metrics as stored with the version (the seed's names plus sample counts and importances).
    pub fn metrics_map(&self) -> Map<String, Value> {
        let importance: Map<String, Value> = self
            .feature_importance
            .iter()
            .map(|(n, v)| (n.clone(), json!(v)))
            .collect();
        let mut map = match serde_json::to_value(self.metrics) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        map.insert(
            "training_samples".into(),
            json!(self.prepared.y_train.len()),
        );
        map.insert("test_samples".into(), json!(self.prepared.y_test.len()));
        map.insert("feature_importance".into(), Value::Object(importance));
        map
    }

    pub(super) fn preview(&self) -> Value {
        json!({"metrics": self.metrics_map(), "hyperparameters": self.hyperparameters})
    }
}
