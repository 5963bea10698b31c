//! Trees with one value per leaf (regression forest, gradient boosting) in
//! flat arrays (the serialized form), their packed prediction layout
//! (`packed.rs`), and the structural checks that make a deserialized model
//! safe to walk.

use serde::{Deserialize, Serialize};

use super::hist_tree::GradTree;
use super::packed::{PackedTrees, TreeArrays};
use super::tree::LEAF;

/// Largest feature count of the regression forest and boosting models.
pub(crate) const MAX_FEATURES: usize = 1 << 24;

/// Flat trees: node arrays indexed by a global node id, `roots[t]` the root of
/// tree `t`; a leaf has `feature == LEAF` and `left` indexing `leaf_values`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FlatTrees {
    pub roots: Vec<u32>,
    pub feature: Vec<u32>,
    pub threshold: Vec<f64>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub leaf_values: Vec<f64>,
    /// The prediction layout, derived by `pack` and `check_and_pack`.
    #[serde(skip)]
    packed: PackedTrees,
}

impl FlatTrees {
    /// Appends a tree, its leaf values multiplied by `scale`; call [`pack`]
    /// once the trees are all in, before predicting.
    ///
    /// [`pack`]: FlatTrees::pack
    pub fn push(&mut self, t: &GradTree, scale: f64) {
        let node_offset = self.feature.len() as u32;
        let leaf_offset = self.leaf_values.len() as u32;
        self.roots.push(node_offset);
        for i in 0..t.feature.len() {
            let leaf = t.feature[i] == LEAF;
            self.feature.push(t.feature[i]);
            self.threshold.push(t.threshold[i]);
            self.left
                .push(t.left[i] + if leaf { leaf_offset } else { node_offset });
            self.right
                .push(if leaf { 0 } else { t.right[i] + node_offset });
        }
        self.leaf_values
            .extend(t.leaf_values.iter().map(|v| v * scale));
    }

    /// Derives the prediction layout of fitted trees.
    pub fn pack(&mut self) -> super::Result<()> {
        let arrays = TreeArrays {
            feature: &self.feature,
            threshold: &self.threshold,
            left: &self.left,
            right: &self.right,
        };
        self.packed =
            PackedTrees::from_arrays(&self.roots, &arrays).map_err(super::MlError::TooLarge)?;
        Ok(())
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Sum over trees of the leaf value reached by `row`, which must have at
    /// least as many values as the largest split feature + 1 (checked by
    /// the callers); NaN goes right.
    pub fn sum_row(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        self.packed
            .for_each_leaf(row, |leaf| sum += self.leaf_values[leaf]);
        sum
    }

    /// Checks every invariant `sum_row` relies on for `d` features, then
    /// derives the prediction layout (a freshly deserialized value has none).
    pub fn check_and_pack(&mut self, d: usize) -> Result<(), String> {
        self.check(d)?;
        self.pack().map_err(|e| e.to_string())
    }

    /// Checks every invariant `sum_row` relies on for `d` features.
    fn check(&self, d: usize) -> Result<(), String> {
        let n = self.feature.len();
        if self.threshold.len() != n || self.left.len() != n || self.right.len() != n {
            return Err("node arrays have different lengths".into());
        }
        // the feature cap bounds the padding a short row gets at predict time
        if n >= u32::MAX as usize || d == 0 || d > MAX_FEATURES {
            return Err("too many nodes or invalid feature count".into());
        }
        if !self.leaf_values.iter().all(|v| v.is_finite()) {
            return Err("non-finite leaf value".into());
        }
        let n_leaves = self.leaf_values.len();
        if self.roots.first().is_some_and(|&r| r != 0) {
            return Err("first root is not node 0".into());
        }
        for (t, &root) in self.roots.iter().enumerate() {
            let start = root as usize;
            let end = self.roots.get(t + 1).map_or(n, |&r| r as usize);
            if start >= end || end > n {
                return Err(format!("tree {t} has an invalid node range"));
            }
            for i in start..end {
                if self.feature[i] == LEAF {
                    if self.left[i] as usize >= n_leaves {
                        return Err(format!("leaf {i} points past the leaf values"));
                    }
                    continue;
                }
                let (l, r) = (self.left[i] as usize, self.right[i] as usize);
                if self.feature[i] as usize >= d {
                    return Err(format!("node {i} splits on missing feature"));
                }
                if self.threshold[i].is_nan() {
                    return Err(format!("node {i} has a NaN threshold"));
                }
                if l <= i || r <= i || l >= end || r >= end {
                    return Err(format!("node {i} has out-of-range children"));
                }
            }
        }
        Ok(())
    }
}

/// Pads `row` with NaN up to `d` values when it is shorter.
pub(crate) fn padded(row: &[f64], d: usize) -> std::borrow::Cow<'_, [f64]> {
    if row.len() >= d {
        std::borrow::Cow::Borrowed(row)
    } else {
        let mut v = row.to_vec();
        v.resize(d, f64::NAN);
        std::borrow::Cow::Owned(v)
    }
}

/// Writes `magic`, a little-endian `version` and the bincode body.
pub(crate) fn encode<T: Serialize>(magic: &[u8; 8], version: u32, v: &T) -> super::Result<Vec<u8>> {
    use bincode::Options;
    let body = bincode::DefaultOptions::new()
        .serialize(v)
        .map_err(|e| super::MlError::Serialization(e.to_string()))?;
    let mut out = Vec::with_capacity(12 + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads what [`encode`] wrote, checking magic and version (the type's serde
/// `try_from` validates the structure).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    magic: &[u8; 8],
    version: u32,
    bytes: &[u8],
) -> super::Result<T> {
    use bincode::Options;
    let corrupt = |m: String| super::MlError::CorruptArtifact(m);
    if bytes.len() < 12 {
        return Err(corrupt(format!(
            "{} bytes is shorter than the header",
            bytes.len()
        )));
    }
    if bytes[..8] != magic[..] {
        return Err(corrupt("bad magic bytes for this model kind".into()));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[8..12]);
    let found = u32::from_le_bytes(v);
    if found != version {
        return Err(super::MlError::UnsupportedVersion {
            found,
            expected: version,
        });
    }
    let body = &bytes[12..];
    bincode::DefaultOptions::new()
        .with_limit(body.len() as u64)
        .deserialize(body)
        .map_err(|e| corrupt(e.to_string()))
}

/// [`decode`] of the current `version`, or of a version 1 artifact read as `V1`
/// and brought forward by `upgrade` (the type's `try_from` then validates it).
pub(crate) fn decode_or_v1<T, D, V1>(
    magic: &[u8; 8],
    version: u32,
    bytes: &[u8],
    upgrade: impl FnOnce(V1) -> D,
) -> super::Result<T>
where
    T: serde::de::DeserializeOwned + TryFrom<D, Error = String>,
    V1: serde::de::DeserializeOwned,
{
    match decode(magic, version, bytes) {
        Err(super::MlError::UnsupportedVersion { found: 1, .. }) => {
            let old: V1 = decode(magic, 1, bytes)?;
            T::try_from(upgrade(old)).map_err(super::MlError::CorruptArtifact)
        }
        other => other,
    }
}

/// Importances read from an artifact: none, or one finite value per feature.
pub(crate) fn check_importances(v: &[f64], n_features: usize) -> Result<(), String> {
    if !v.is_empty() && (v.len() != n_features || !v.iter().all(|x| x.is_finite())) {
        return Err("invalid feature importances".into());
    }
    Ok(())
}
