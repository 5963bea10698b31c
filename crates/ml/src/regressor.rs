//! The fitted random forest regressor: the mean of its trees' leaf means.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::codec::{decode_or_v1, encode};
use crate::ensemble::Ensemble;
use crate::error::Result;
use crate::forest_params::RandomForestParams;
use crate::importance::check_importances;
use crate::input::MAX_FEATURES;
use crate::nodes::{TreeArrays, TreeNodes};
use crate::rows::{padded, predict_rows};

/// Magic bytes of a [`RandomForestRegressor`] artifact.
pub const REGRESSOR_MAGIC: [u8; 8] = *b"IMRFREG\0";
/// Artifact format version of [`RandomForestRegressor`] (2 added the feature
/// importances; version 1 artifacts still load, without them).
pub const REGRESSOR_FORMAT_VERSION: u32 = 2;

/// A fitted random forest regressor (or a single regression tree); each leaf
/// holds its tree's share of the mean, so a prediction is a sum over trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RegressorData")]
pub struct RandomForestRegressor {
    params: RandomForestParams,
    n_features: usize,
    trees: Ensemble,
    /// Empty for a version 1 artifact.
    importances: Vec<f64>,
}

#[derive(Deserialize)]
struct RegressorData {
    params: RandomForestParams,
    n_features: usize,
    trees: TreeNodes,
    importances: Vec<f64>,
}

/// The version 1 artifact: no importances.
#[derive(Deserialize)]
struct RegressorDataV1 {
    params: RandomForestParams,
    n_features: usize,
    trees: TreeNodes,
}

impl TryFrom<RegressorData> for RandomForestRegressor {
    type Error = String;
    fn try_from(d: RegressorData) -> std::result::Result<Self, String> {
        d.params.validate().map_err(|e| e.to_string())?;
        if d.n_features == 0 || d.n_features > MAX_FEATURES {
            return Err(format!("invalid feature count {}", d.n_features));
        }
        if !d.trees.leaf_values.iter().all(|v| v.is_finite()) {
            return Err("non-finite leaf value".into());
        }
        if d.trees.n_trees() == 0 {
            return Err("no tree".into());
        }
        check_importances(&d.importances, d.n_features)?;
        Ok(RandomForestRegressor {
            params: d.params,
            n_features: d.n_features,
            trees: Ensemble::load(d.trees, d.n_features, 1)?,
            importances: d.importances,
        })
    }
}

impl RandomForestRegressor {
    pub(crate) fn new(
        params: RandomForestParams,
        n_features: usize,
        trees: Ensemble,
        importances: Vec<f64>,
    ) -> Self {
        RandomForestRegressor {
            params,
            n_features,
            trees,
            importances,
        }
    }

    /// Prediction for one row, without allocating when it has at least
    /// `n_features` values (missing trailing features and NaN go right).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.trees.sum_row(&padded(row, self.n_features))
    }

    /// Predictions for every row of `x`, computed in parallel.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        Array1::from_vec(predict_rows(x, 1, |r, o| o[0] = self.predict_row(r)))
    }

    /// Number of features the model was trained on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.nodes().n_trees()
    }

    /// Total number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.trees.nodes().n_nodes()
    }

    /// The hyperparameters the model was fitted with.
    pub fn params(&self) -> &RandomForestParams {
        &self.params
    }

    /// The trees' node arrays (one value per leaf); a prediction is the sum, in tree order,
    /// of the leaf values reached (each leaf holds its tree's share of the mean).
    pub fn tree_arrays(&self) -> TreeArrays<'_> {
        self.trees.nodes().arrays(1)
    }

    /// Serializes the model to a versioned byte artifact (`codec.rs`).
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
