//! Fitting histogram gradient-boosted trees (as scikit-learn's
//! HistGradientBoosting / LightGBM): binary log-loss or squared error,
//! best-first trees limited by `max_leaf_nodes` / `max_depth`, L2-regularised
//! Newton leaf values, optional early stopping on a held-out validation split.
//! Deterministic for a seed whatever the thread count.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::binning::{bin_features, BinnedData};
use crate::ensemble::Ensemble;
use crate::error::{MlError, Result};
use crate::gbdt_loss::{grad_hess, point_loss, GbdtLoss};
use crate::gbdt_model::GradientBoostingModel;
use crate::gbdt_params::GradientBoostingParams;
use crate::hist_tree::{build_grad_tree, Buffers, GradTree};
use crate::hist_types::GradConfig;
use crate::input::check_regression_input;
use crate::nodes::TreeNodes;
use crate::rng::seeded_rng;

impl GradientBoostingParams {
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
        let mut trees = TreeNodes::default();
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
            let mut tree = gradients.grow(&binned, train.clone(), cfg, &mut rng);
            // shrunk once: the step the raw scores take is the tree the model keeps
            let step = &mut tree.grown.nodes.leaf_values;
            step.iter_mut().for_each(|v| *v *= self.learning_rate);
            add_leaf_values(&mut raw, &tree);
            trees.append(&tree.grown.nodes, 1)?;
            for (acc, g) in gains.iter_mut().zip(&tree.grown.importances) {
                *acc += g.max(0.0);
            }
            if self.early_stopping {
                let one = Ensemble::new(tree.grown.nodes)?;
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
        Ok(GradientBoostingModel::new(
            self.clone(),
            d,
            baseline,
            Ensemble::new(trees)?,
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

/// Adds each training row's leaf value to its raw score. A leaf's rows are
/// ascending, so each block of `raw` finds its share of every leaf by binary
/// search, and the blocks are updated in parallel.
fn add_leaf_values(raw: &mut [f64], tree: &GradTree) {
    const BLOCK: usize = 1 << 16;
    raw.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let lo = (b * BLOCK) as u32;
            let hi = lo + block.len() as u32;
            let values = &tree.grown.nodes.leaf_values;
            for (&(s, e), &v) in tree.leaf_rows.iter().zip(values) {
                let rows = &tree.rows[s..e];
                let from = rows.partition_point(|&r| r < lo);
                let to = rows.partition_point(|&r| r < hi);
                for &r in &rows[from..to] {
                    block[(r - lo) as usize] += v;
                }
            }
        });
}
