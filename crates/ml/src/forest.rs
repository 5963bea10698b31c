//! Random forest classifier: hyperparameters, the parallel fit, and the
//! fitted model whose trees live in flat arrays (prediction is in `predict.rs`).

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, ArrayBase, ArrayView2, Data, Ix2};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{bin_features, MAX_BINS};
use super::packed::{PackedTrees, TreeArrays};
use super::tree::{build_tree, BuiltTree, TreeConfig, LEAF};
use super::{check_finite, forest_importances, seeded_rng, MlError, Result};

/// Largest supported number of classes (labels must be below it).
pub const MAX_CLASSES: usize = 1 << 16;

/// How many features are examined at each split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxFeatures {
    /// `max(1, floor(sqrt(n_features)))` (scikit-learn's default for classifiers).
    Sqrt,
    /// `max(1, floor(log2(n_features)))`.
    Log2,
    /// Every feature.
    All,
    /// `max(1, floor(fraction * n_features))`, with the fraction in `(0, 1]`.
    Fraction(f64),
    /// Exactly this many features (at least 1, at most `n_features`).
    Count(usize),
}

impl MaxFeatures {
    /// The number of features to examine per split for `n_features` features.
    pub fn resolve(&self, n_features: usize) -> Result<usize> {
        let d = n_features as f64;
        let k = match *self {
            MaxFeatures::Sqrt => d.sqrt().floor() as usize,
            MaxFeatures::Log2 => d.log2().floor().max(0.0) as usize,
            MaxFeatures::All => n_features,
            MaxFeatures::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(invalid(
                        "max_features",
                        format!("fraction must be in (0, 1], got {f}"),
                    ));
                }
                (f * d).floor() as usize
            }
            MaxFeatures::Count(k) => {
                if k == 0 || k > n_features {
                    return Err(invalid(
                        "max_features",
                        format!(
                            "count must be in 1..={n_features} (the number of features), got {k}"
                        ),
                    ));
                }
                k
            }
        };
        Ok(k.clamp(1, n_features.max(1)))
    }
}

fn invalid(name: &'static str, reason: String) -> MlError {
    MlError::InvalidHyperparameter { name, reason }
}

/// Hyperparameters of a [`RandomForestClassifier`]; defaults follow scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestParams {
    /// Number of trees (default 100).
    pub n_estimators: usize,
    /// Maximum tree depth, the root having depth 0 (default `None`: unlimited).
    pub max_depth: Option<usize>,
    /// Minimum number of samples a node needs to be split (default 2).
    pub min_samples_split: usize,
    /// Minimum number of samples in each leaf (default 1).
    pub min_samples_leaf: usize,
    /// Features examined per split (default [`MaxFeatures::Sqrt`]).
    pub max_features: MaxFeatures,
    /// Whether each tree sees a bootstrap sample (default `true`).
    pub bootstrap: bool,
    /// Seed of all randomness (default 0).
    pub random_state: u64,
    /// Maximum number of histogram bins per feature, 2..=65536 (default 255).
    pub n_bins: usize,
}

impl Default for RandomForestParams {
    fn default() -> Self {
        RandomForestParams {
            n_estimators: 100,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: MaxFeatures::Sqrt,
            bootstrap: true,
            random_state: 0,
            n_bins: 255,
        }
    }
}

impl RandomForestParams {
    /// Checks every hyperparameter, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        if self.n_estimators == 0 || self.n_estimators > u32::MAX as usize {
            return Err(invalid(
                "n_estimators",
                format!("must be at least 1, got {}", self.n_estimators),
            ));
        }
        if self.max_depth == Some(0) {
            return Err(invalid(
                "max_depth",
                "must be at least 1 when set, got 0".into(),
            ));
        }
        if self.min_samples_split < 2 {
            return Err(invalid(
                "min_samples_split",
                format!("must be at least 2, got {}", self.min_samples_split),
            ));
        }
        if self.min_samples_leaf < 1 {
            return Err(invalid(
                "min_samples_leaf",
                "must be at least 1, got 0".into(),
            ));
        }
        match self.max_features {
            MaxFeatures::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(invalid(
                    "max_features",
                    format!("fraction must be in (0, 1], got {f}"),
                ));
            }
            MaxFeatures::Count(0) => {
                return Err(invalid(
                    "max_features",
                    "count must be at least 1, got 0".into(),
                ));
            }
            _ => {}
        }
        if !(2..=MAX_BINS).contains(&self.n_bins) {
            return Err(invalid(
                "n_bins",
                format!("must be in 2..={MAX_BINS}, got {}", self.n_bins),
            ));
        }
        Ok(())
    }

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
        let trees: Vec<BuiltTree> = (0..self.n_estimators)
            .into_par_iter()
            .map(|t| {
                let mut rng = seeded_rng(self.random_state, t as u64);
                let mut weights = vec![u32::from(!self.bootstrap); n];
                if self.bootstrap {
                    for _ in 0..n {
                        weights[rng.gen_range(0..n as u64) as usize] += 1;
                    }
                }
                build_tree(&binned, &labels, &weights, cfg, &mut rng)
            })
            .collect();
        RandomForestClassifier::from_trees(self.clone(), d, n_classes, trees)
    }
}

/// A fitted random forest. All trees live in flat arrays indexed by a global
/// node id; `roots[t]` is the root of tree `t`. For a split node, `x[feature]
/// <= threshold` goes to `left`, anything else (NaN too) to `right`; a leaf has
/// `feature == u32::MAX` and `left` is its row in `leaf_values`
/// (`n_classes` probabilities per leaf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "super::artifact::ForestData")]
pub struct RandomForestClassifier {
    pub(super) params: RandomForestParams,
    pub(super) n_features: usize,
    pub(super) n_classes: usize,
    pub(super) roots: Vec<u32>,
    pub(super) feature: Vec<u32>,
    pub(super) threshold: Vec<f64>,
    pub(super) left: Vec<u32>,
    pub(super) right: Vec<u32>,
    pub(super) leaf_values: Vec<f64>,
    pub(super) importances: Vec<f64>,
    /// The trees in the layout prediction walks (derived, not serialized).
    #[serde(skip_serializing)]
    pub(super) packed: PackedTrees,
}

impl RandomForestClassifier {
    /// Derives the prediction layout from the (validated) node arrays.
    pub(super) fn pack(&mut self) -> std::result::Result<(), String> {
        let arrays = TreeArrays {
            feature: &self.feature,
            threshold: &self.threshold,
            left: &self.left,
            right: &self.right,
        };
        self.packed = PackedTrees::from_arrays(&self.roots, &arrays)?;
        Ok(())
    }

    pub(super) fn from_trees(
        params: RandomForestParams,
        n_features: usize,
        n_classes: usize,
        trees: Vec<BuiltTree>,
    ) -> Result<Self> {
        let n_nodes: usize = trees.iter().map(|t| t.feature.len()).sum();
        let n_leaves: usize = trees.iter().map(|t| t.leaf_values.len() / n_classes).sum();
        if n_nodes >= u32::MAX as usize || n_leaves >= u32::MAX as usize {
            return Err(MlError::TooLarge(format!(
                "forest of {n_nodes} nodes exceeds u32 indexing"
            )));
        }
        let mut m = RandomForestClassifier {
            params,
            n_features,
            n_classes,
            roots: Vec::with_capacity(trees.len()),
            feature: Vec::with_capacity(n_nodes),
            threshold: Vec::with_capacity(n_nodes),
            left: Vec::with_capacity(n_nodes),
            right: Vec::with_capacity(n_nodes),
            leaf_values: Vec::with_capacity(n_leaves * n_classes),
            importances: vec![0.0; n_features],
            packed: PackedTrees::default(),
        };
        for t in &trees {
            let node_offset = m.feature.len() as u32;
            let leaf_offset = (m.leaf_values.len() / n_classes) as u32;
            m.roots.push(node_offset);
            for i in 0..t.feature.len() {
                let leaf = t.feature[i] == LEAF;
                m.feature.push(t.feature[i]);
                m.threshold.push(t.threshold[i]);
                m.left
                    .push(t.left[i] + if leaf { leaf_offset } else { node_offset });
                m.right
                    .push(if leaf { 0 } else { t.right[i] + node_offset });
            }
            m.leaf_values.extend_from_slice(&t.leaf_values);
        }
        m.importances = forest_importances(n_features, trees.iter().map(|t| &t.importances[..]));
        m.pack().map_err(MlError::TooLarge)?;
        Ok(m)
    }

    /// Number of features the model was trained on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of classes (the largest training label + 1).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Total number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.feature.len()
    }

    /// The hyperparameters the model was fitted with.
    pub fn params(&self) -> &RandomForestParams {
        &self.params
    }

    /// Impurity-based feature importances (mean decrease in gini, weighted by
    /// samples, normalised per tree and overall to sum to 1, as in
    /// scikit-learn); all zeros when no tree has a split.
    pub fn feature_importances(&self) -> Vec<f64> {
        self.importances.clone()
    }
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<usize>, MlError> for RandomForestParams {
    type Object = RandomForestClassifier;

    /// Fits on a linfa dataset (sample weights of the dataset are ignored).
    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<usize>>,
    ) -> Result<RandomForestClassifier> {
        let y: Vec<usize> = dataset.targets.iter().copied().collect();
        RandomForestParams::fit(self, dataset.records.view(), &y)
    }
}
