//! Fitting random forests: the classifier's trees grown by the CART learner
//! (`cart.rs`) on class counts, and the regressor's, and the weighted
//! classifier's, by the gradient-statistics learner (`hist_tree.rs`). Trees
//! are grown in parallel with rayon, each from its own RNG seeded from
//! `(random_state, tree index)`, so a fit is bit-for-bit reproducible whatever
//! the thread count.

use ndarray::ArrayView2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::binning::bin_features;
use crate::cart::{build_tree, TreeConfig};
use crate::classifier::{RandomForestClassifier, MAX_CLASSES};
use crate::ensemble::Ensemble;
use crate::error::{MlError, Result};
use crate::forest_params::RandomForestParams;
use crate::hist_tree::{build_grad_tree, Buffers};
use crate::hist_types::GradConfig;
use crate::importance::forest_importances;
use crate::input::{check_finite, check_regression_input};
use crate::nodes::{GrownTree, TreeNodes};
use crate::regressor::RandomForestRegressor;
use crate::rng::seeded_rng;

impl RandomForestParams {
    /// Fits a forest on `x` (rows are samples, all values finite) and labels
    /// `y` in `0..n_classes`.
    ///
    /// (Through linfa, call `Fit::fit(&params, &dataset)`: this inherent method
    /// shadows the trait method in `params.fit(..)` syntax.)
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: &[usize]) -> Result<RandomForestClassifier> {
        self.validate()?;
        let (n, d) = x.dim();
        if n == 0 {
            return Err(MlError::EmptyDataset);
        }
        if d == 0 {
            return Err(MlError::NoFeatures);
        }
        if y.len() != n {
            return Err(MlError::MismatchedLengths {
                what: "labels vs rows",
                expected: n,
                actual: y.len(),
            });
        }
        if n >= u32::MAX as usize || d >= u32::MAX as usize {
            return Err(MlError::TooLarge(format!(
                "{n} rows x {d} columns exceeds u32 indexing"
            )));
        }
        check_finite(x)?;
        let mut labels = Vec::with_capacity(n);
        for (row, &label) in y.iter().enumerate() {
            if label >= MAX_CLASSES {
                return Err(MlError::InvalidLabel {
                    row,
                    label,
                    reason: "labels must be below 65536",
                });
            }
            labels.push(label as u32);
        }
        let n_classes = y.iter().copied().max().unwrap_or(0) + 1;
        let cfg = TreeConfig {
            max_depth: self.max_depth.unwrap_or(usize::MAX),
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self.max_features.resolve(d)?,
            n_classes,
        };
        let binned = bin_features(x, self.n_bins)?;
        let trees: Vec<GrownTree> = (0..self.n_estimators)
            .into_par_iter()
            .map(|t| {
                let (weights, mut rng) = self.sample(t, n);
                build_tree(&binned, &labels, &weights, cfg, &mut rng)
            })
            .collect();
        RandomForestClassifier::from_trees(self.clone(), d, n_classes, trees)
    }

    /// Fits a classifier with non-negative sample weights (bootstrap counts
    /// multiply them). Labels must be 0 or 1; `min_samples_*` count rows.
    ///
    /// For two classes, the weighted gini decrease of a split is twice the
    /// weighted variance reduction of the 0/1 target, so the trees are grown
    /// by the regression learner on the 0/1 labels, and each leaf's weighted
    /// mean is its probability of class 1. The result is an ordinary
    /// [`RandomForestClassifier`] (same artifact format, same prediction).
    pub fn fit_weighted(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        sample_weight: &[f64],
    ) -> Result<RandomForestClassifier> {
        if let Some(row) = y.iter().position(|&l| l > 1) {
            return Err(MlError::InvalidLabel {
                row,
                label: y[row],
                reason: "weighted fits support binary labels (0 or 1) only",
            });
        }
        let yf: Vec<f64> = y.iter().map(|&l| l as f64).collect();
        let mut trees = self.grow_regression_trees(x, &yf, Some(sample_weight))?;
        let n_classes = y.iter().copied().max().unwrap_or(0) + 1;
        for t in &mut trees {
            let values = &mut t.nodes.leaf_values;
            *values = values
                .iter()
                .flat_map(|&v| {
                    let p = v.clamp(0.0, 1.0);
                    if n_classes == 2 {
                        vec![1.0 - p, p]
                    } else {
                        vec![1.0]
                    }
                })
                .collect();
        }
        RandomForestClassifier::from_trees(self.clone(), x.ncols(), n_classes, trees)
    }

    /// Fits a regression forest (squared error) on `x` (finite) and finite
    /// targets `y`, with optional non-negative sample weights. Bootstrap
    /// counts multiply the weights; `min_samples_*` count distinct rows.
    pub fn fit_regressor(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<RandomForestRegressor> {
        let trees = self.grow_regression_trees(x, y, sample_weight)?;
        let importances = forest_importances(x.ncols(), trees.iter().map(|t| &t.importances[..]));
        // each tree's leaves hold its share of the mean over trees
        let scale = 1.0 / self.n_estimators as f64;
        let mut nodes = TreeNodes::default();
        for mut t in trees {
            t.nodes.leaf_values.iter_mut().for_each(|v| *v *= scale);
            nodes.append(&t.nodes, 1)?;
        }
        Ok(RandomForestRegressor::new(
            self.clone(),
            x.ncols(),
            Ensemble::new(nodes)?,
            importances,
        ))
    }

    /// Grows the (weighted squared-error) trees of a regression forest, with
    /// one leaf value per leaf: the weighted mean of its targets.
    fn grow_regression_trees(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<Vec<GrownTree>> {
        self.validate()?;
        let w = check_regression_input(x, y, sample_weight)?;
        let (n, d) = x.dim();
        let cfg = GradConfig {
            max_depth: self.max_depth.unwrap_or(usize::MAX),
            max_leaf_nodes: usize::MAX,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_hessian: f64::MIN_POSITIVE,
            l2: 0.0,
            max_features: self.max_features.resolve(d)?,
            parallel: false,
        };
        let mut binned = bin_features(x, self.n_bins)?;
        binned.add_narrow();
        Ok((0..self.n_estimators)
            .into_par_iter()
            .map(|t| {
                let (counts, mut rng) = self.sample(t, n);
                let gh: Vec<(f64, f64)> = (counts.iter().zip(&w).zip(y))
                    .map(|((&c, &w), &y)| {
                        let h = c as f64 * w;
                        (-h * y, h)
                    })
                    .collect();
                let rows = (0..n as u32).filter(|&i| gh[i as usize].1 > 0.0).collect();
                build_grad_tree(&binned, &gh, rows, cfg, &mut rng, &mut Buffers::default()).grown
            })
            .collect())
    }

    /// Tree `t`'s sample of the `n` rows, as a count per row (its bootstrap
    /// draws, or 1 for every row without bootstrap), and the RNG that grows
    /// the tree, having drawn it.
    fn sample(&self, t: usize, n: usize) -> (Vec<u32>, ChaCha8Rng) {
        let mut rng = seeded_rng(self.random_state, t as u64);
        let mut counts = vec![u32::from(!self.bootstrap); n];
        if self.bootstrap {
            for _ in 0..n {
                counts[rng.gen_range(0..n as u64) as usize] += 1;
            }
        }
        (counts, rng)
    }
}
