//! The gradient-boosting trainers, with the names and defaults of scikit-learn's
//! `HistGradientBoostingClassifier` / `Regressor` (early stopping is off unless asked for,
//! so a run is the same whatever the data size). Every trainer also takes `target` and
//! `features`.

use super::output::Output;
use super::train::{fit, fit_regressor, Columns, Learner};
use super::trainers::{check_threshold, half};
use crate::error::{Error, Result};
use crate::ml::{GbdtLoss, GradientBoostingParams};
use crate::pipeline::context::BlockContext;
use serde::{Deserialize, Serialize};

/// A boosting trainer's config, shared by the classifier and the regressor.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BoostingConfig {
    /// Shrinkage of each tree's contribution.
    #[serde(default = "learning_rate")]
    pub learning_rate: f64,
    /// Boosting iterations (trees).
    #[serde(default = "max_iter")]
    pub max_iter: usize,
    /// Leaves per tree (none when `null`).
    #[serde(default = "max_leaf_nodes")]
    pub max_leaf_nodes: Option<usize>,
    /// Depth limit (none when absent).
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Minimum samples in a leaf.
    #[serde(default = "min_samples_leaf")]
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values.
    #[serde(default)]
    pub l2_regularization: f64,
    /// Histogram bins per feature.
    #[serde(default = "max_bins")]
    pub max_bins: usize,
    /// Stop when the loss on a held-out part of the training rows stops improving.
    #[serde(default)]
    pub early_stopping: bool,
    /// Share of the training rows held out for early stopping.
    #[serde(default = "validation_fraction")]
    pub validation_fraction: f64,
    /// Iterations without improvement before stopping.
    #[serde(default = "n_iter_no_change")]
    pub n_iter_no_change: usize,
    /// Seed (the early-stopping hold-out).
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

fn learning_rate() -> f64 {
    0.1
}
fn max_iter() -> usize {
    100
}
fn max_leaf_nodes() -> Option<usize> {
    Some(31)
}
fn min_samples_leaf() -> usize {
    20
}
fn max_bins() -> usize {
    255
}
fn validation_fraction() -> f64 {
    0.1
}
fn n_iter_no_change() -> usize {
    10
}

impl BoostingConfig {
    pub(super) fn validate(&self) -> Result<()> {
        let checked = self
            .params(GbdtLoss::LogLoss)
            .validate()
            .map_err(Error::from);
        // the learner calls `max_bins` by its own name
        checked.map_err(|e| match e.field.as_deref() {
            Some("n_bins") => e.with_field("max_bins"),
            _ => e,
        })?;
        check_threshold(self.threshold)
    }

    fn params(&self, loss: GbdtLoss) -> GradientBoostingParams {
        GradientBoostingParams {
            loss,
            learning_rate: self.learning_rate,
            max_iter: self.max_iter,
            max_leaf_nodes: self.max_leaf_nodes,
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            l2_regularization: self.l2_regularization,
            n_bins: self.max_bins,
            early_stopping: self.early_stopping,
            validation_fraction: self.validation_fraction,
            n_iter_no_change: self.n_iter_no_change,
            random_state: self.random_state,
            ..GradientBoostingParams::default()
        }
    }

    fn columns(&self) -> Columns {
        Columns {
            target: self.target.clone(),
            features: self.features.clone(),
        }
    }
}

/// `gradient_boosting_classifier`: log-loss on a 0/1 label.
pub(super) mod gradient_boosting_classifier {
    use super::*;

    /// The block's config.
    pub type Config = BoostingConfig;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = Learner::Boosting(config.params(GbdtLoss::LogLoss));
        let hyper = serde_json::to_value(&config)?;
        fit(
            ctx,
            inputs,
            learner,
            config.columns(),
            config.threshold,
            hyper,
        )
        .await
    }
}

/// `gradient_boosting_regressor`: squared error (`threshold` is ignored).
pub(super) mod gradient_boosting_regressor {
    use super::*;

    /// The block's config.
    pub type Config = BoostingConfig;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let learner = Learner::Boosting(config.params(GbdtLoss::SquaredError));
        fit_regressor(ctx, inputs, learner, config.columns(), &config).await
    }
}
