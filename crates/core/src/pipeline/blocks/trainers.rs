//! The trainer kinds and their configs (scikit-learn's names and defaults where they exist).
//! Every trainer also takes `target` (the label) and `features` (default: all other columns).

use super::output::Output;
use super::train::{fit, fit_regressor, Columns, Learner};
use crate::error::{Error, Result};
use crate::ml::linear::LinearParams;
use crate::ml::{MaxFeatures, RandomForestParams};
use crate::pipeline::context::BlockContext;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
pub(super) fn half() -> f64 {
    0.5
}
fn default_max_features() -> Value {
    json!("sqrt")
}

pub(super) fn check_threshold(threshold: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::invalid_field("threshold", "must be between 0 and 1"));
    }
    Ok(())
}

fn max_features(value: &Value) -> Result<MaxFeatures> {
    Ok(match value {
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
    })
}

/// A forest's config, shared by the classifier and the regressor.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ForestConfig {
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
    /// Probability of the positive class above which a row is predicted positive (classifier).
    #[serde(default = "half")]
    pub threshold: f64,
    /// The label column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Feature columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

impl ForestConfig {
    pub(super) fn validate(&self) -> Result<()> {
        self.params()?.validate().map_err(Error::from)?;
        check_threshold(self.threshold)
    }

    fn params(&self) -> Result<RandomForestParams> {
        Ok(RandomForestParams {
            n_estimators: self.n_estimators,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features: max_features(&self.max_features)?,
            bootstrap: self.bootstrap,
            random_state: self.random_state,
            ..RandomForestParams::default()
        })
    }

    fn columns(&self) -> Columns {
        Columns {
            target: self.target.clone(),
            features: self.features.clone(),
        }
    }
}

/// `random_forest_classifier`.
pub(super) mod random_forest_classifier {
    use super::*;

    /// The block's config.
    pub type Config = ForestConfig;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = Learner::ForestClassifier(config.params()?);
        fit(
            ctx,
            inputs,
            learner,
            config.columns(),
            config.threshold,
            serde_json::to_value(&config)?,
        )
        .await
    }
}

/// `random_forest_regressor`.
pub(super) mod random_forest_regressor {
    use super::*;

    /// The block's config (`threshold` is ignored).
    pub type Config = ForestConfig;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = Learner::ForestRegressor(config.params()?);
        fit_regressor(ctx, inputs, learner, config.columns(), &config).await
    }
}

/// `decision_tree`: one tree on every row and every feature.
pub(super) mod decision_tree {
    use super::*;

    /// Classifier or regressor.
    #[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
    #[serde(rename_all = "snake_case")]
    pub enum TreeTask {
        /// A class and its probability.
        Classifier,
        /// A number.
        Regressor,
    }

    /// The block's config.
    #[derive(Debug, Clone, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// `classifier` or `regressor`.
        pub task: TreeTask,
        /// Depth limit (none when absent).
        #[serde(default)]
        pub max_depth: Option<usize>,
        /// Minimum samples to split a node.
        #[serde(default = "two")]
        pub min_samples_split: usize,
        /// Minimum samples in a leaf.
        #[serde(default = "one")]
        pub min_samples_leaf: usize,
        /// Seed (ties between equally good splits).
        #[serde(default)]
        pub random_state: u64,
        /// Positive-class cut-off (classifier).
        #[serde(default = "half")]
        pub threshold: f64,
        /// The label column.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub target: Option<String>,
        /// Feature columns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub features: Option<Vec<String>>,
    }

    impl Config {
        fn params(&self) -> RandomForestParams {
            RandomForestParams {
                n_estimators: 1,
                max_depth: self.max_depth,
                min_samples_split: self.min_samples_split,
                min_samples_leaf: self.min_samples_leaf,
                max_features: MaxFeatures::All,
                bootstrap: false,
                random_state: self.random_state,
                ..RandomForestParams::default()
            }
        }

        pub(in super::super) fn validate(&self) -> Result<()> {
            self.params().validate().map_err(Error::from)?;
            check_threshold(self.threshold)
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = match config.task {
            TreeTask::Classifier => Learner::ForestClassifier(config.params()),
            TreeTask::Regressor => Learner::ForestRegressor(config.params()),
        };
        let columns = Columns {
            target: config.target.clone(),
            features: config.features.clone(),
        };
        fit(
            ctx,
            inputs,
            learner,
            columns,
            config.threshold,
            serde_json::to_value(&config)?,
        )
        .await
    }
}

/// A linear model's config.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// L2 penalty on the weights.
    #[serde(default = "default_l2")]
    pub l2: f64,
    /// Most Newton iterations (logistic regression).
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// Convergence tolerance (logistic regression).
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// Positive-class cut-off (logistic regression).
    #[serde(default = "half")]
    pub threshold: f64,
    /// The label column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Feature columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

fn default_l2() -> f64 {
    1.0
}
fn default_max_iter() -> usize {
    100
}
fn default_tol() -> f64 {
    1e-8
}

impl LinearConfig {
    fn params(&self) -> LinearParams {
        LinearParams {
            l2: self.l2,
            max_iter: self.max_iter,
            tol: self.tol,
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        self.params().validate().map_err(Error::from)?;
        check_threshold(self.threshold)
    }

    fn columns(&self) -> Columns {
        Columns {
            target: self.target.clone(),
            features: self.features.clone(),
        }
    }
}

/// `logistic_regression`.
pub(super) mod logistic_regression {
    use super::*;

    /// The block's config.
    pub type Config = LinearConfig;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = Learner::Logistic(config.params());
        fit(
            ctx,
            inputs,
            learner,
            config.columns(),
            config.threshold,
            serde_json::to_value(&config)?,
        )
        .await
    }
}

/// `linear_regression`.
pub(super) mod linear_regression {
    use super::*;

    /// The block's config (`max_iter`, `tol` and `threshold` are ignored).
    pub type Config = LinearConfig;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = Learner::Linear(config.params());
        let hyper = json!({"l2": config.l2});
        fit(ctx, inputs, learner, config.columns(), 0.5, hyper).await
    }
}
