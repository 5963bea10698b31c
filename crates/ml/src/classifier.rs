//! The fitted random forest classifier: its trees, its artifact, and its
//! predictions, which walk the packed trees (`packed.rs`) several at once,
//! without allocating for a single row.

use ndarray::{Array2, ArrayView2};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::codec::{decode, encode};
use crate::ensemble::Ensemble;
use crate::error::Result;
use crate::forest_params::RandomForestParams;
use crate::importance::forest_importances;
use crate::nodes::{GrownTree, TreeArrays, TreeNodes, LEAF};
use crate::rows::{padded, predict_rows};

/// Largest supported number of classes (labels must be below it).
pub const MAX_CLASSES: usize = 1 << 16;

/// Magic bytes at the start of every forest classifier artifact.
pub const MAGIC: [u8; 8] = *b"IMRFCLS\0";

/// Version of the forest classifier's artifact format written by this build
/// (and the only one it reads).
pub const FORMAT_VERSION: u32 = 1;

/// A fitted random forest classifier (or a single decision tree). Each leaf
/// holds `n_classes` probabilities (`nodes.rs`); a prediction is their mean
/// over trees.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ForestData")]
pub struct RandomForestClassifier {
    params: RandomForestParams,
    n_features: usize,
    n_classes: usize,
    /// Visible to the crate for the tests that walk or corrupt the trees.
    pub(crate) trees: Ensemble,
    importances: Vec<f64>,
}

/// The serialized form of a [`RandomForestClassifier`], whose node arrays
/// are inline, unlike the other tree models': stored artifacts and persisted
/// block outputs have this form. Every deserialization of the model, bincode
/// or any other serde format, goes through it and is validated, so no
/// deserialized model can index out of range or loop at predict time.
#[derive(Deserialize)]
struct ForestData {
    params: RandomForestParams,
    n_features: usize,
    n_classes: usize,
    roots: Vec<u32>,
    feature: Vec<u32>,
    threshold: Vec<f64>,
    left: Vec<u32>,
    right: Vec<u32>,
    leaf_values: Vec<f64>,
    importances: Vec<f64>,
}

impl Serialize for RandomForestClassifier {
    /// Writes the fields of `ForestData`, in its order.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let n = self.trees.nodes();
        let mut st = s.serialize_struct("RandomForestClassifier", 10)?;
        st.serialize_field("params", &self.params)?;
        st.serialize_field("n_features", &self.n_features)?;
        st.serialize_field("n_classes", &self.n_classes)?;
        st.serialize_field("roots", &n.roots)?;
        st.serialize_field("feature", &n.feature)?;
        st.serialize_field("threshold", &n.threshold)?;
        st.serialize_field("left", &n.left)?;
        st.serialize_field("right", &n.right)?;
        st.serialize_field("leaf_values", &n.leaf_values)?;
        st.serialize_field("importances", &self.importances)?;
        st.end()
    }
}

impl TryFrom<ForestData> for RandomForestClassifier {
    type Error = String;

    /// Checks every invariant prediction relies on, describing the first
    /// violation.
    fn try_from(d: ForestData) -> std::result::Result<Self, String> {
        d.params
            .validate()
            .map_err(|e| format!("stored hyperparameters: {e}"))?;
        let (n_features, c) = (d.n_features, d.n_classes);
        if n_features == 0 || n_features >= LEAF as usize {
            return Err(format!("invalid feature count {n_features}"));
        }
        if c == 0 || c > MAX_CLASSES {
            return Err(format!("invalid class count {c}"));
        }
        if !d.leaf_values.iter().all(|v| (0.0..=1.0).contains(v)) {
            return Err("leaf probability outside [0, 1]".into());
        }
        if d.importances.len() != n_features || !d.importances.iter().all(|v| v.is_finite()) {
            return Err("invalid feature importances".into());
        }
        if d.roots.is_empty() {
            return Err("no tree".into());
        }
        let nodes = TreeNodes {
            roots: d.roots,
            feature: d.feature,
            threshold: d.threshold,
            left: d.left,
            right: d.right,
            leaf_values: d.leaf_values,
        };
        Ok(RandomForestClassifier {
            params: d.params,
            n_features,
            n_classes: c,
            trees: Ensemble::load(nodes, n_features, c)?,
            importances: d.importances,
        })
    }
}

impl RandomForestClassifier {
    /// The model of `trees`, grown with `params` on `n_features` features,
    /// whose leaves hold `n_classes` probabilities.
    pub(crate) fn from_trees(
        params: RandomForestParams,
        n_features: usize,
        n_classes: usize,
        trees: Vec<GrownTree>,
    ) -> Result<Self> {
        let mut nodes = TreeNodes::default();
        for t in &trees {
            nodes.append(&t.nodes, n_classes)?;
        }
        Ok(RandomForestClassifier {
            params,
            n_features,
            n_classes,
            trees: Ensemble::new(nodes)?,
            importances: forest_importances(n_features, trees.iter().map(|t| &t.importances[..])),
        })
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

    /// The trees' node arrays (`n_classes` probabilities per leaf); a prediction is the mean
    /// over trees, summed in tree order, of the leaf values reached.
    pub fn tree_arrays(&self) -> TreeArrays<'_> {
        self.trees.nodes().arrays(self.n_classes)
    }

    /// Impurity-based feature importances (mean decrease in gini, weighted by
    /// samples, normalised per tree and overall to sum to 1, as in
    /// scikit-learn); all zeros when no tree has a split.
    pub fn feature_importances(&self) -> Vec<f64> {
        self.importances.clone()
    }

    /// Serializes the model to a self-describing, versioned byte artifact
    /// (`codec.rs`).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode(&MAGIC, FORMAT_VERSION, self)
    }

    /// Loads a model written by [`RandomForestClassifier::to_bytes`], checking
    /// the magic, the version and that every index is in range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        decode(&MAGIC, FORMAT_VERSION, bytes)
    }

    /// Writes the class probabilities of `row` into `out` without allocating
    /// (when `row` has at least `n_features` values). `out` should have length
    /// `n_classes`; only its first `min(out.len(), n_classes)` entries are
    /// written. Missing trailing features and NaN values go right at every split.
    pub fn predict_proba_row_into(&self, row: &[f64], out: &mut [f64]) {
        let row = padded(row, self.n_features);
        let c = self.n_classes;
        let len = c.min(out.len());
        let out = &mut out[..len];
        out.iter_mut().for_each(|v| *v = 0.0);
        let values = &self.trees.nodes().leaf_values;
        self.trees.for_each_leaf(&row, |leaf| {
            for (o, v) in out.iter_mut().zip(&values[leaf * c..leaf * c + c]) {
                *o += v;
            }
        });
        let n = self.n_trees() as f64;
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
        let out = predict_rows(x, c, |row, o| self.predict_proba_row_into(row, o));
        Array2::from_shape_vec((x.nrows(), c), out)
            .unwrap_or_else(|_| Array2::zeros((x.nrows(), c)))
    }
}

/// The index of the largest probability (the lowest on ties).
pub(crate) fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = k;
        }
    }
    best
}
