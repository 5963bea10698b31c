//! Histogram gradient-boosted trees (as scikit-learn's HistGradientBoosting /
//! LightGBM): binary log-loss or squared error, best-first trees limited by
//! `max_leaf_nodes` / `max_depth`, L2-regularised Newton leaf values, optional
//! early stopping on a held-out validation split. Deterministic for a seed
//! whatever the thread count.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{bin_features, BinnedData, MAX_BINS};
use super::flat::FlatTrees;
pub use super::gbdt_model::GradientBoostingModel;
use super::hist_tree::{build_grad_tree, Buffers, GradConfig, GradTree};
use super::regressor::check_regression_input;
use super::{seeded_rng, MlError, Result};

/// Loss optimised by gradient boosting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GbdtLoss {
    /// Squared error (regression); predictions are raw scores.
    SquaredError,
    /// Binary log-loss; targets 0 or 1, predictions are P(class 1).
    LogLoss,
}

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

fn invalid(name: &'static str, reason: String) -> MlError {
    MlError::InvalidHyperparameter { name, reason }
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

    /// Fits on `x` (finite) and targets `y` (finite; 0 or 1 for log-loss),
    /// with optional non-negative sample weights.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<GradientBoostingModel> {
        self.validate()?;
        let w = check_regression_input(x, y, sample_weight)?;
        if self.loss == GbdtLoss::LogLoss {
            if let Some(row) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
                return Err(MlError::InvalidLabel {
                    row,
                    label: y[row] as usize,
                    reason: "log-loss targets must be 0 or 1",
                });
            }
        }
        let (n, d) = x.dim();
        let mut is_val = vec![false; n];
        if self.early_stopping {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut seeded_rng(self.random_state, u64::MAX));
            if n < 2 {
                return Err(MlError::InvalidArgument {
                    name: "x",
                    reason: "early stopping needs at least 2 rows".into(),
                });
            }
            let k = ((n as f64 * self.validation_fraction).round() as usize).clamp(1, n - 1);
            order[..k].iter().for_each(|&i| is_val[i] = true);
        }
        let train: Vec<u32> = (0..n as u32)
            .filter(|&i| !is_val[i as usize] && w[i as usize] > 0.0)
            .collect();
        let val: Vec<usize> = (0..n).filter(|&i| is_val[i]).collect();
        if train.is_empty() {
            return Err(MlError::EmptyDataset);
        }
        let loss = self.loss;
        let (sw, swy) = train.iter().fold((0.0, 0.0), |(a, b), &i| {
            let i = i as usize;
            (a + w[i], b + w[i] * y[i])
        });
        let mean = swy / sw;
        let baseline = match loss {
            GbdtLoss::SquaredError => mean,
            GbdtLoss::LogLoss => {
                let p = mean.clamp(1e-12, 1.0 - 1e-12);
                (p / (1.0 - p)).ln()
            }
        };
        let cfg = GradConfig {
            max_depth: self.max_depth.unwrap_or(usize::MAX),
            max_leaf_nodes: self.max_leaf_nodes.unwrap_or(usize::MAX),
            min_samples_split: 2,
            min_samples_leaf: self.min_samples_leaf,
            min_hessian: 1e-3,
            l2: self.l2_regularization,
            max_features: d,
            parallel: true,
        };
        let mut binned = bin_features(x, self.n_bins)?;
        binned.add_narrow();
        let mut raw = vec![baseline; n];
        let unit = loss == GbdtLoss::SquaredError && w.iter().all(|&v| v == 1.0);
        let mut gradients = Gradients::new(n, unit);
        let mut trees = FlatTrees::default();
        let mut rng = seeded_rng(self.random_state, 0);
        let mut val_loss = Vec::new();
        let val_rows: Vec<Vec<f64>> = val.iter().map(|&i| x.row(i).to_vec()).collect();
        let mut val_raw = vec![baseline; val.len()];
        let mut gains = vec![0.0; d];
        let loss_of = |raw: &[f64], rows: &[usize]| {
            let (mut s, mut sw) = (0.0, 0.0);
            for (r, &i) in raw.iter().zip(rows) {
                s += w[i] * point_loss(loss, *r, y[i]);
                sw += w[i];
            }
            s / sw.max(f64::MIN_POSITIVE)
        };
        if self.early_stopping {
            val_loss.push(loss_of(&val_raw, &val));
        }
        for _ in 0..self.max_iter {
            gradients.refresh(loss, &raw, y, &w);
            let tree = gradients.grow(&binned, train.clone(), cfg, &mut rng);
            add_leaf_values(&mut raw, &tree, self.learning_rate);
            trees.push(&tree, self.learning_rate);
            for (acc, g) in gains.iter_mut().zip(&tree.importances) {
                *acc += g.max(0.0);
            }
            if self.early_stopping {
                let mut one = FlatTrees::default();
                one.push(&tree, self.learning_rate);
                one.pack()?;
                val_raw
                    .par_iter_mut()
                    .zip(&val_rows)
                    .for_each(|(r, row)| *r += one.sum_row(row));
                val_loss.push(loss_of(&val_raw, &val));
                let k = self.n_iter_no_change;
                if val_loss.len() > k {
                    let reference = val_loss[val_loss.len() - k - 1];
                    let recent = &val_loss[val_loss.len() - k..];
                    if recent.iter().all(|&l| l >= reference - self.tol) {
                        break;
                    }
                }
            }
        }
        trees.pack()?;
        Ok(GradientBoostingModel::new(
            self.clone(),
            d,
            baseline,
            trees,
            val_loss,
            gains,
        ))
    }
}

/// Each row's gradient statistics, refreshed every iteration: the gradient
/// alone when every hessian is 1 (squared error with unit weights); with the
/// buffers that growing each tree reuses.
enum Gradients {
    Unit(Vec<f64>, Buffers<f64>),
    Pairs(Vec<(f64, f64)>, Buffers<(f64, f64)>),
}

impl Gradients {
    fn new(n: usize, unit: bool) -> Self {
        if unit {
            Gradients::Unit(vec![0.0; n], Buffers::default())
        } else {
            Gradients::Pairs(vec![(0.0, 0.0); n], Buffers::default())
        }
    }

    fn refresh(&mut self, loss: GbdtLoss, raw: &[f64], y: &[f64], w: &[f64]) {
        match self {
            Gradients::Unit(g, _) => g.par_iter_mut().enumerate().for_each(|(i, g)| {
                *g = grad_hess(loss, raw[i], y[i]).0;
            }),
            Gradients::Pairs(gh, _) => gh.par_iter_mut().enumerate().for_each(|(i, gh)| {
                let (a, b) = grad_hess(loss, raw[i], y[i]);
                *gh = (a * w[i], b * w[i]);
            }),
        }
    }

    fn grow(
        &mut self,
        binned: &BinnedData,
        rows: Vec<u32>,
        cfg: GradConfig,
        rng: &mut ChaCha8Rng,
    ) -> GradTree {
        match self {
            Gradients::Unit(g, buffers) => build_grad_tree(binned, g, rows, cfg, rng, buffers),
            Gradients::Pairs(gh, buffers) => build_grad_tree(binned, gh, rows, cfg, rng, buffers),
        }
    }
}

/// Adds `scale` times each training row's leaf value to its raw score. A
/// leaf's rows are ascending, so each block of `raw` finds its share of every
/// leaf by binary search, and the blocks are updated in parallel.
fn add_leaf_values(raw: &mut [f64], tree: &GradTree, scale: f64) {
    const BLOCK: usize = 1 << 16;
    raw.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let lo = (b * BLOCK) as u32;
            let hi = lo + block.len() as u32;
            for (&(s, e), &value) in tree.leaf_rows.iter().zip(&tree.leaf_values) {
                let rows = &tree.rows[s..e];
                let v = scale * value;
                let from = rows.partition_point(|&r| r < lo);
                let to = rows.partition_point(|&r| r < hi);
                for &r in &rows[from..to] {
                    block[(r - lo) as usize] += v;
                }
            }
        });
}

pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn grad_hess(loss: GbdtLoss, raw: f64, y: f64) -> (f64, f64) {
    match loss {
        GbdtLoss::SquaredError => (raw - y, 1.0),
        GbdtLoss::LogLoss => {
            let p = sigmoid(raw);
            (p - y, (p * (1.0 - p)).max(1e-16))
        }
    }
}

fn point_loss(loss: GbdtLoss, raw: f64, y: f64) -> f64 {
    match loss {
        GbdtLoss::SquaredError => 0.5 * (raw - y) * (raw - y),
        // log(1 + e^raw) - y * raw, computed stably
        GbdtLoss::LogLoss => raw.max(0.0) + (-raw.abs()).exp().ln_1p() - y * raw,
    }
}
