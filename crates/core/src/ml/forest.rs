//! Random forest classifier: hyperparameters, parallel fit, and prediction
//! over trees stored as flat arrays.

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Data, Ix2};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{bin_features, MAX_BINS};
use super::tree::{build_tree, BuiltTree, TreeConfig, LEAF};
use super::{check_finite, seeded_rng, MlError, Result};

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
                    return Err(invalid("max_features", format!("fraction must be in (0, 1], got {f}")));
                }
                (f * d).floor() as usize
            }
            MaxFeatures::Count(k) => {
                if k == 0 || k > n_features {
                    return Err(invalid(
                        "max_features",
                        format!("count must be in 1..={n_features} (the number of features), got {k}"),
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
            return Err(invalid("n_estimators", format!("must be at least 1, got {}", self.n_estimators)));
        }
        if self.max_depth == Some(0) {
            return Err(invalid("max_depth", "must be at least 1 when set, got 0".into()));
        }
        if self.min_samples_split < 2 {
            return Err(invalid(
                "min_samples_split",
                format!("must be at least 2, got {}", self.min_samples_split),
            ));
        }
        if self.min_samples_leaf < 1 {
            return Err(invalid("min_samples_leaf", "must be at least 1, got 0".into()));
        }
        match self.max_features {
            MaxFeatures::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(invalid("max_features", format!("fraction must be in (0, 1], got {f}")));
            }
            MaxFeatures::Count(0) => {
                return Err(invalid("max_features", "count must be at least 1, got 0".into()));
            }
            _ => {}
        }
        if !(2..=MAX_BINS).contains(&self.n_bins) {
            return Err(invalid("n_bins", format!("must be in 2..={MAX_BINS}, got {}", self.n_bins)));
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
            return Err(MlError::MismatchedLengths { what: "labels vs rows", expected: n, actual: y.len() });
        }
        if n >= u32::MAX as usize || d >= u32::MAX as usize {
            return Err(MlError::TooLarge(format!("{n} rows x {d} columns exceeds u32 indexing")));
        }
        check_finite(x)?;
        let mut labels = Vec::with_capacity(n);
        for (row, &label) in y.iter().enumerate() {
            if label >= MAX_CLASSES {
                return Err(MlError::InvalidLabel { row, label, reason: "labels must be below 65536" });
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
}

impl RandomForestClassifier {
    fn from_trees(params: RandomForestParams, n_features: usize, n_classes: usize, trees: Vec<BuiltTree>) -> Result<Self> {
        let n_nodes: usize = trees.iter().map(|t| t.feature.len()).sum();
        let n_leaves: usize = trees.iter().map(|t| t.leaf_values.len() / n_classes).sum();
        if n_nodes >= u32::MAX as usize || n_leaves >= u32::MAX as usize {
            return Err(MlError::TooLarge(format!("forest of {n_nodes} nodes exceeds u32 indexing")));
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
        };
        for t in &trees {
            let node_offset = m.feature.len() as u32;
            let leaf_offset = (m.leaf_values.len() / n_classes) as u32;
            m.roots.push(node_offset);
            for i in 0..t.feature.len() {
                let leaf = t.feature[i] == LEAF;
                m.feature.push(t.feature[i]);
                m.threshold.push(t.threshold[i]);
                m.left.push(t.left[i] + if leaf { leaf_offset } else { node_offset });
                m.right.push(if leaf { 0 } else { t.right[i] + node_offset });
            }
            m.leaf_values.extend_from_slice(&t.leaf_values);
            let total: f64 = t.importances.iter().map(|v| v.max(0.0)).sum();
            if total > 0.0 {
                for (acc, v) in m.importances.iter_mut().zip(&t.importances) {
                    *acc += v.max(0.0) / total;
                }
            }
        }
        let total: f64 = m.importances.iter().sum();
        if total > 0.0 {
            m.importances.iter_mut().for_each(|v| *v /= total);
        }
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

    /// Leaf (row of `leaf_values`) reached by `row` from node `node`.
    /// `row` must have at least `n_features` values. (The plain walk, kept as
    /// the reference the lane-interleaved prediction is tested against.)
    #[cfg(test)]
    pub(super) fn leaf_of(&self, mut node: usize, row: &[f64]) -> usize {
        loop {
            let f = self.feature[node];
            if f == LEAF {
                return self.left[node] as usize;
            }
            node = if row[f as usize] <= self.threshold[node] { self.left[node] } else { self.right[node] } as usize;
        }
    }

    /// Writes the class probabilities of `row` into `out` without allocating
    /// (when `row` has at least `n_features` values). `out` should have length
    /// `n_classes`; only its first `min(out.len(), n_classes)` entries are
    /// written. Missing trailing features and NaN values go right at every split.
    pub fn predict_proba_row_into(&self, row: &[f64], out: &mut [f64]) {
        if row.len() < self.n_features {
            let mut padded = row.to_vec();
            padded.resize(self.n_features, f64::NAN);
            return self.predict_proba_row_into(&padded, out);
        }
        let c = self.n_classes;
        let len = c.min(out.len());
        let out = &mut out[..len];
        out.iter_mut().for_each(|v| *v = 0.0);
        // Walk LANES trees at once with branch-free steps: independent chains
        // hide memory latency and avoid mispredicted branches. Leaves are
        // absorbing, so a group is done once every lane sits on a leaf.
        const LANES: usize = 8;
        for group in self.roots.chunks(LANES) {
            // lanes past the end of a short last group repeat its first tree
            // and are not counted
            let mut nodes = [group[0] as usize; LANES];
            for (n, &r) in nodes.iter_mut().zip(group) {
                *n = r as usize;
            }
            loop {
                let mut all_leaves = true;
                for n in nodes.iter_mut() {
                    let i = *n;
                    let f = self.feature[i];
                    let is_leaf = f == LEAF;
                    all_leaves &= is_leaf;
                    let v = row[if is_leaf { 0 } else { f as usize }];
                    let go_left = v <= self.threshold[i];
                    let (l, r) = (self.left[i], self.right[i]);
                    let child = l ^ ((l ^ r) & 0u32.wrapping_sub(u32::from(!go_left)));
                    *n = if is_leaf { i } else { child as usize };
                }
                if all_leaves {
                    break;
                }
            }
            for &n in &nodes[..group.len()] {
                let leaf = self.left[n] as usize;
                for (o, v) in out.iter_mut().zip(&self.leaf_values[leaf * c..leaf * c + c]) {
                    *o += v;
                }
            }
        }
        let n = self.roots.len() as f64;
        out.iter_mut().for_each(|v| *v /= n);
    }

    /// Class probabilities of one row (length `n_classes`): the mean over trees
    /// of the class frequencies in the leaf reached.
    pub fn predict_proba_row(&self, row: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n_classes];
        self.predict_proba_row_into(row, &mut out);
        out
    }

    /// Most probable class of one row (the lowest class on ties).
    pub fn predict_row(&self, row: &[f64]) -> usize {
        argmax(&self.predict_proba_row(row))
    }

    /// Class probabilities of every row of `x`, shape `(n_rows, n_classes)`,
    /// computed in parallel.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let c = self.n_classes;
        let mut out = vec![0.0; x.nrows() * c];
        const ROWS_PER_TASK: usize = 64;
        out.par_chunks_mut(ROWS_PER_TASK * c).enumerate().for_each(|(chunk, block)| {
            let mut buf = Vec::new();
            for (k, o) in block.chunks_exact_mut(c).enumerate() {
                let r = x.row(chunk * ROWS_PER_TASK + k);
                match r.as_slice() {
                    Some(s) => self.predict_proba_row_into(s, o),
                    None => {
                        buf.clear();
                        buf.extend(r.iter().copied());
                        self.predict_proba_row_into(&buf, o);
                    }
                }
            }
        });
        Array2::from_shape_vec((x.nrows(), c), out).unwrap_or_else(|_| Array2::zeros((x.nrows(), c)))
    }

    /// Impurity-based feature importances (mean decrease in gini, weighted by
    /// samples, normalised per tree and overall to sum to 1, as in
    /// scikit-learn); all zeros when no tree has a split.
    pub fn feature_importances(&self) -> Vec<f64> {
        self.importances.clone()
    }
}

fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = k;
        }
    }
    best
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<usize>, MlError> for RandomForestParams {
    type Object = RandomForestClassifier;

    /// Fits on a linfa dataset (sample weights of the dataset are ignored).
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<usize>>) -> Result<RandomForestClassifier> {
        let y: Vec<usize> = dataset.targets.iter().copied().collect();
        RandomForestParams::fit(self, dataset.records.view(), &y)
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for RandomForestClassifier {
    /// Predicts the most probable class of each row; `y` should have one entry
    /// per row (extra entries are left as they are).
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        let proba = self.predict_proba(x.view());
        for (t, p) in y.iter_mut().zip(proba.outer_iter()) {
            *t = p.as_slice().map_or(0, argmax);
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}
