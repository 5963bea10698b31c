//! Sample weights for the random forest classifier (binary labels).
//!
//! For two classes, the weighted gini decrease of a split is twice the
//! weighted variance reduction of the 0/1 target, so a weighted binary forest
//! is grown by the regression tree learner on the 0/1 labels, and each leaf's
//! weighted mean is its probability of class 1. The result is an ordinary
//! [`RandomForestClassifier`] (same artifact format, same prediction).

use ndarray::ArrayView2;

use super::forest::{RandomForestClassifier, RandomForestParams};
use super::tree::BuiltTree;
use super::{MlError, Result};

impl RandomForestParams {
    /// Fits a classifier with non-negative sample weights (bootstrap counts
    /// multiply them). Labels must be 0 or 1; `min_samples_*` count rows.
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
        let grown = self.grow_regression_trees(x, &yf, Some(sample_weight))?;
        let n_classes = y.iter().copied().max().unwrap_or(0) + 1;
        let trees = grown
            .into_iter()
            .map(|t| BuiltTree {
                leaf_values: t
                    .leaf_values
                    .iter()
                    .flat_map(|&v| {
                        let p = v.clamp(0.0, 1.0);
                        if n_classes == 2 {
                            vec![1.0 - p, p]
                        } else {
                            vec![1.0]
                        }
                    })
                    .collect(),
                feature: t.feature,
                threshold: t.threshold,
                left: t.left,
                right: t.right,
                importances: t.importances,
            })
            .collect();
        RandomForestClassifier::from_trees(self.clone(), x.ncols(), n_classes, trees)
    }
}
