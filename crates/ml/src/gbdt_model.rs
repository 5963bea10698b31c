//! The fitted gradient-boosting model: its trees, its artifact, and its
//! predictions.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::codec::{decode_or_v1, encode};
use crate::ensemble::Ensemble;
use crate::error::Result;
use crate::gbdt_loss::{sigmoid, GbdtLoss};
use crate::gbdt_params::GradientBoostingParams;
use crate::importance::{check_importances, normalised};
use crate::input::MAX_FEATURES;
use crate::nodes::{TreeArrays, TreeNodes};
use crate::rows::{padded, predict_rows};

/// Magic bytes of a [`GradientBoostingModel`] artifact.
pub const GBDT_MAGIC: [u8; 8] = *b"IMGBDT\0\0";
/// Artifact format version of [`GradientBoostingModel`] (2 added the feature
/// importances; version 1 artifacts still load, without them).
pub const GBDT_FORMAT_VERSION: u32 = 2;

/// A fitted gradient-boosting model: `baseline + sum of tree leaf values`,
/// through a sigmoid for log-loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GbdtData")]
pub struct GradientBoostingModel {
    params: GradientBoostingParams,
    n_features: usize,
    baseline: f64,
    trees: Ensemble,
    validation_loss: Vec<f64>,
    /// Empty for a version 1 artifact.
    importances: Vec<f64>,
}

#[derive(Deserialize)]
struct GbdtData {
    params: GradientBoostingParams,
    n_features: usize,
    baseline: f64,
    trees: TreeNodes,
    validation_loss: Vec<f64>,
    importances: Vec<f64>,
}

/// The version 1 artifact: no importances.
#[derive(Deserialize)]
struct GbdtDataV1 {
    params: GradientBoostingParams,
    n_features: usize,
    baseline: f64,
    trees: TreeNodes,
    validation_loss: Vec<f64>,
}

impl TryFrom<GbdtData> for GradientBoostingModel {
    type Error = String;
    fn try_from(d: GbdtData) -> std::result::Result<Self, String> {
        d.params.validate().map_err(|e| e.to_string())?;
        if d.n_features == 0 || d.n_features > MAX_FEATURES {
            return Err(format!("invalid feature count {}", d.n_features));
        }
        if !d.trees.leaf_values.iter().all(|v| v.is_finite()) {
            return Err("non-finite leaf value".into());
        }
        if !d.baseline.is_finite() {
            return Err("non-finite baseline".into());
        }
        check_importances(&d.importances, d.n_features)?;
        Ok(GradientBoostingModel {
            params: d.params,
            n_features: d.n_features,
            baseline: d.baseline,
            trees: Ensemble::load(d.trees, d.n_features, 1)?,
            validation_loss: d.validation_loss,
            importances: d.importances,
        })
    }
}

impl GradientBoostingModel {
    pub(crate) fn new(
        params: GradientBoostingParams,
        n_features: usize,
        baseline: f64,
        trees: Ensemble,
        validation_loss: Vec<f64>,
        gains: Vec<f64>,
    ) -> Self {
        GradientBoostingModel {
            params,
            n_features,
            baseline,
            trees,
            validation_loss,
            importances: normalised(gains),
        }
    }

    /// Raw score of one row (log-odds for log-loss); no allocation when the
    /// row has at least `n_features` values. NaN goes right at every split.
    pub fn decision_function_row(&self, row: &[f64]) -> f64 {
        self.baseline + self.trees.sum_row(&padded(row, self.n_features))
    }

    /// Prediction of one row: the value (squared error) or P(class 1) (log-loss).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let z = self.decision_function_row(row);
        match self.params.loss {
            GbdtLoss::SquaredError => z,
            GbdtLoss::LogLoss => sigmoid(z),
        }
    }

    /// `[P(class 0), P(class 1)]` of one row (log-loss models; for squared
    /// error, the prediction clamped to [0, 1] is used as P(class 1)).
    pub fn predict_proba_row(&self, row: &[f64]) -> [f64; 2] {
        let p = self.predict_row(row).clamp(0.0, 1.0);
        [1.0 - p, p]
    }

    /// [`Self::predict_row`] for every row of `x`, in parallel.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        Array1::from_vec(predict_rows(x, 1, |r, o| o[0] = self.predict_row(r)))
    }

    /// Class probabilities of every row, shape `(n_rows, 2)`.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let p = self.predict(x);
        Array2::from_shape_fn((x.nrows(), 2), |(i, k)| {
            let q = p[i].clamp(0.0, 1.0);
            if k == 1 {
                q
            } else {
                1.0 - q
            }
        })
    }

    /// Number of boosting iterations kept (trees).
    pub fn n_iter(&self) -> usize {
        self.trees.nodes().n_trees()
    }

    /// Number of features the model was trained on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Validation loss before the first and after every iteration (empty
    /// without early stopping).
    pub fn validation_loss(&self) -> &[f64] {
        &self.validation_loss
    }

    /// The hyperparameters the model was fitted with.
    pub fn params(&self) -> &GradientBoostingParams {
        &self.params
    }

    /// The raw score before any tree: [`Self::decision_function_row`] is this plus the sum,
    /// in tree order, of the leaf values reached.
    pub fn baseline(&self) -> f64 {
        self.baseline
    }

    /// The trees' node arrays (one value per leaf).
    pub fn tree_arrays(&self) -> TreeArrays<'_> {
        self.trees.nodes().arrays(1)
    }

    /// Serializes the model to a versioned byte artifact.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode(&GBDT_MAGIC, GBDT_FORMAT_VERSION, self)
    }

    /// Gain-based feature importances (total split gain per feature over
    /// every tree, normalised to sum to 1, LightGBM's `gain` importance); all
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
        decode_or_v1(&GBDT_MAGIC, GBDT_FORMAT_VERSION, bytes, |v1: GbdtDataV1| {
            GbdtData {
                params: v1.params,
                n_features: v1.n_features,
                baseline: v1.baseline,
                trees: v1.trees,
                validation_loss: v1.validation_loss,
                importances: Vec::new(),
            }
        })
    }
}
