//! The hyperparameters of gradient boosting.

use serde::{Deserialize, Serialize};

use crate::binning::MAX_BINS;
use crate::error::{invalid, Result};
use crate::gbdt_loss::GbdtLoss;

/// Hyperparameters of gradient boosting; defaults follow scikit-learn's
/// HistGradientBoosting (except that early stopping is off unless asked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoostingParams {
    /// The loss (default [`GbdtLoss::LogLoss`]).
    pub loss: GbdtLoss,
    /// Shrinkage of every tree (default 0.1).
    pub learning_rate: f64,
    /// Maximum number of boosting iterations (trees) (default 100).
    pub max_iter: usize,
    /// Maximum number of leaves per tree (default `Some(31)`).
    pub max_leaf_nodes: Option<usize>,
    /// Maximum depth, root at depth 0 (default `None`).
    pub max_depth: Option<usize>,
    /// Minimum number of samples per leaf (default 20).
    pub min_samples_leaf: usize,
    /// L2 regularisation of leaf values (default 0).
    pub l2_regularization: f64,
    /// Maximum number of histogram bins per feature, 2..=65536 (default 255).
    pub n_bins: usize,
    /// Whether to stop early on a validation split (default `false`).
    pub early_stopping: bool,
    /// Share of the rows held out for early stopping (default 0.1).
    pub validation_fraction: f64,
    /// Stop when the validation loss has not improved by more than `tol` over
    /// this many iterations (default 10).
    pub n_iter_no_change: usize,
    /// Improvement threshold of early stopping (default 1e-7).
    pub tol: f64,
    /// Seed of the validation split (default 0).
    pub random_state: u64,
}

impl Default for GradientBoostingParams {
    fn default() -> Self {
        GradientBoostingParams {
            loss: GbdtLoss::LogLoss,
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            n_bins: 255,
            early_stopping: false,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            random_state: 0,
        }
    }
}

impl GradientBoostingParams {
    /// Checks every hyperparameter, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        let lr = self.learning_rate;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(invalid("learning_rate", format!("must be > 0, got {lr}")));
        }
        if self.max_iter == 0 || self.max_iter > u32::MAX as usize {
            return Err(invalid(
                "max_iter",
                format!("must be >= 1, got {}", self.max_iter),
            ));
        }
        if matches!(self.max_leaf_nodes, Some(k) if k < 2) {
            return Err(invalid(
                "max_leaf_nodes",
                "must be at least 2 when set".into(),
            ));
        }
        if self.max_depth == Some(0) {
            return Err(invalid("max_depth", "must be at least 1 when set".into()));
        }
        if self.min_samples_leaf == 0 {
            return Err(invalid("min_samples_leaf", "must be at least 1".into()));
        }
        let l2 = self.l2_regularization;
        if !(l2.is_finite() && l2 >= 0.0) {
            return Err(invalid(
                "l2_regularization",
                format!("must be >= 0, got {l2}"),
            ));
        }
        if !(2..=MAX_BINS).contains(&self.n_bins) {
            return Err(invalid("n_bins", format!("must be in 2..={MAX_BINS}")));
        }
        let vf = self.validation_fraction;
        if !(vf > 0.0 && vf < 1.0) {
            return Err(invalid(
                "validation_fraction",
                format!("must be in (0, 1), got {vf}"),
            ));
        }
        if self.n_iter_no_change == 0 {
            return Err(invalid("n_iter_no_change", "must be at least 1".into()));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(invalid("tol", format!("must be >= 0, got {}", self.tol)));
        }
        Ok(())
    }
}
