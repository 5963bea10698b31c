//! Random forest regressor (squared error) with the hyperparameters of
//! [`RandomForestParams`], optional sample weights, and flat-array prediction.

use ndarray::{Array1, ArrayView2};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::bin_features;
use super::flat::{check_importances, decode_or_v1, encode, padded, FlatTrees};
use super::forest::RandomForestParams;
use super::hist_tree::{build_grad_tree, Buffers, GradConfig, GradTree};
use super::{check_finite, forest_importances, seeded_rng, MlError, Result};

/// Magic bytes of a [`RandomForestRegressor`] artifact.
pub const REGRESSOR_MAGIC: [u8; 8] = *b"IMRFREG\0";
/// Artifact format version of [`RandomForestRegressor`] (2 added the feature
/// importances; version 1 artifacts still load, without them).
pub const REGRESSOR_FORMAT_VERSION: u32 = 2;

/// Checks `x`, a target and optional sample weights for a regression fit,
/// returning the weights (all ones when none are given).
pub(crate) fn check_regression_input(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>> {
    let (n, d) = x.dim();
    if n == 0 {
        return Err(MlError::EmptyDataset);
    }
    if d == 0 {
        return Err(MlError::NoFeatures);
    }
    if n >= u32::MAX as usize || d > super::flat::MAX_FEATURES {
        return Err(MlError::TooLarge(format!("{n} rows x {d} columns")));
    }
    if y.len() != n {
        return Err(MlError::MismatchedLengths {
            what: "targets vs rows",
            expected: n,
            actual: y.len(),
        });
    }
    check_finite(x)?;
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(MlError::NonFiniteValue { row, column: d });
    }
    let w = match sample_weight {
        None => vec![1.0; n],
        Some(w) => {
            if w.len() != n {
                return Err(MlError::MismatchedLengths {
                    what: "sample weights vs rows",
                    expected: n,
                    actual: w.len(),
                });
            }
            if w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
                return Err(MlError::InvalidArgument {
                    name: "sample_weight",
                    reason: "weights must be finite, non-negative, with a positive sum".into(),
                });
            }
            w.to_vec()
        }
    };
    Ok(w)
}

/// A fitted random forest regressor: the mean of its trees' leaf means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RegressorData")]
pub struct RandomForestRegressor {
    params: RandomForestParams,
    n_features: usize,
    trees: FlatTrees,
    /// Empty for a version 1 artifact.
    importances: Vec<f64>,
}

#[derive(Deserialize)]
struct RegressorData {
    params: RandomForestParams,
    n_features: usize,
    trees: FlatTrees,
    importances: Vec<f64>,
}

/// The version 1 artifact: no importances.
#[derive(Deserialize)]
struct RegressorDataV1 {
    params: RandomForestParams,
    n_features: usize,
    trees: FlatTrees,
}

impl TryFrom<RegressorData> for RandomForestRegressor {
    type Error = String;
    fn try_from(mut d: RegressorData) -> std::result::Result<Self, String> {
        d.params.validate().map_err(|e| e.to_string())?;
        d.trees.check_and_pack(d.n_features)?;
        if d.trees.n_trees() == 0 {
            return Err("no tree".into());
        }
        check_importances(&d.importances, d.n_features)?;
        Ok(RandomForestRegressor {
            params: d.params,
            n_features: d.n_features,
            trees: d.trees,
            importances: d.importances,
        })
    }
}

impl RandomForestParams {
    /// Fits a regression forest (squared error) on `x` (finite) and finite
    /// targets `y`, with optional non-negative sample weights. Bootstrap
    /// counts multiply the weights; `min_samples_*` count distinct rows.
    pub fn fit_regressor(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<RandomForestRegressor> {
        let built = self.grow_regression_trees(x, y, sample_weight)?;
        let importances = forest_importances(x.ncols(), built.iter().map(|t| &t.importances[..]));
        let mut trees = FlatTrees::default();
        let scale = 1.0 / self.n_estimators as f64;
        for t in &built {
            trees.push(t, scale);
        }
        trees.pack()?;
        Ok(RandomForestRegressor {
            params: self.clone(),
            n_features: x.ncols(),
            trees,
            importances,
        })
    }

    /// Grows the (weighted squared-error) trees of a regression forest.
    pub(crate) fn grow_regression_trees(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<Vec<GradTree>> {
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
                let mut rng = seeded_rng(self.random_state, t as u64);
                let mut counts = vec![u32::from(!self.bootstrap); n];
                if self.bootstrap {
                    for _ in 0..n {
                        counts[rng.gen_range(0..n as u64) as usize] += 1;
                    }
                }
                let gh: Vec<(f64, f64)> = (counts.iter().zip(&w).zip(y))
                    .map(|((&c, &w), &y)| {
                        let h = c as f64 * w;
                        (-h * y, h)
                    })
                    .collect();
                let rows = (0..n as u32).filter(|&i| gh[i as usize].1 > 0.0).collect();
                build_grad_tree(&binned, &gh, rows, cfg, &mut rng, &mut Buffers::default())
            })
            .collect())
    }
}

impl RandomForestRegressor {
    /// Prediction for one row, without allocating when it has at least
    /// `n_features` values (missing trailing features and NaN go right).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.trees.sum_row(&padded(row, self.n_features))
    }

    /// Predictions for every row of `x`, computed in parallel.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        predict_rows(x, |r| self.predict_row(r))
    }

    /// Number of features the model was trained on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.n_trees()
    }

    /// Total number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.trees.feature.len()
    }

    /// The hyperparameters the model was fitted with.
    pub fn params(&self) -> &RandomForestParams {
        &self.params
    }

    /// Serializes the model to a versioned byte artifact.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode(&REGRESSOR_MAGIC, REGRESSOR_FORMAT_VERSION, self)
    }

    /// Impurity-based feature importances (mean decrease in squared error,
    /// normalised per tree and overall to sum to 1, as in scikit-learn); all
    /// zeros when no tree has a split or the artifact predates them.
    pub fn feature_importances(&self) -> Vec<f64> {
        if self.importances.is_empty() {
            return vec![0.0; self.n_features];
        }
        self.importances.clone()
    }

    /// Loads and validates an artifact written by [`Self::to_bytes`] (or by
    /// a build that wrote version 1).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        decode_or_v1(
            &REGRESSOR_MAGIC,
            REGRESSOR_FORMAT_VERSION,
            bytes,
            |v1: RegressorDataV1| RegressorData {
                params: v1.params,
                n_features: v1.n_features,
                trees: v1.trees,
                importances: Vec::new(),
            },
        )
    }
}

/// Applies `f` to every row of `x` in parallel (64 rows per task).
pub(crate) fn predict_rows(
    x: ArrayView2<'_, f64>,
    f: impl Fn(&[f64]) -> f64 + Sync,
) -> Array1<f64> {
    let mut out = vec![0.0; x.nrows()];
    out.par_chunks_mut(64)
        .enumerate()
        .for_each(|(chunk, block)| {
            let mut buf = Vec::new();
            for (k, o) in block.iter_mut().enumerate() {
                let r = x.row(chunk * 64 + k);
                *o = match r.as_slice() {
                    Some(s) => f(s),
                    None => {
                        buf.clear();
                        buf.extend(r.iter().copied());
                        f(&buf)
                    }
                };
            }
        });
    Array1::from_vec(out)
}
