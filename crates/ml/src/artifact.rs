//! Binary model artifacts: `to_bytes` / `from_bytes` for
//! [`RandomForestClassifier`], with a magic tag, a format version and a full
//! structural validation on load, so a corrupt artifact is an error at load
//! time rather than a panic (or an endless loop) at predict time.
//!
//! Layout: 8 bytes magic `IMRFCLS\0`, the format version as a little-endian
//! `u32`, then the model encoded with bincode (varint integers, little endian).
//! Equal models give equal bytes.

use bincode::Options;

use super::forest::{RandomForestClassifier, MAX_CLASSES};
use super::tree::LEAF;
use super::{MlError, Result};

/// Magic bytes at the start of every forest artifact.
pub const MAGIC: [u8; 8] = *b"IMRFCLS\0";

/// Version of the artifact format written by this build (and the only one it reads).
pub const FORMAT_VERSION: u32 = 1;

fn options() -> impl Options {
    bincode::DefaultOptions::new()
}

fn corrupt(msg: impl Into<String>) -> MlError {
    MlError::CorruptArtifact(msg.into())
}

/// The serialized form of a [`RandomForestClassifier`] (same fields, same
/// order). Every deserialization of the model, bincode or any other serde
/// format, goes through it and is validated, so no deserialized model can
/// index out of range or loop at predict time.
#[derive(serde::Deserialize)]
pub(super) struct ForestData {
    params: super::forest::RandomForestParams,
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

impl TryFrom<ForestData> for RandomForestClassifier {
    type Error = String;

    fn try_from(d: ForestData) -> std::result::Result<Self, String> {
        let mut model = RandomForestClassifier {
            params: d.params,
            n_features: d.n_features,
            n_classes: d.n_classes,
            roots: d.roots,
            feature: d.feature,
            threshold: d.threshold,
            left: d.left,
            right: d.right,
            leaf_values: d.leaf_values,
            importances: d.importances,
            packed: Default::default(),
        };
        model.check_structure()?;
        model.pack()?;
        Ok(model)
    }
}

impl RandomForestClassifier {
    /// Serializes the model to a self-describing, versioned byte artifact.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let body = options()
            .serialize(self)
            .map_err(|e| MlError::Serialization(e.to_string()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + body.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Loads a model written by [`RandomForestClassifier::to_bytes`], checking
    /// the magic, the version and that every index is in range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let header = MAGIC.len() + 4;
        if bytes.len() < header {
            return Err(corrupt(format!(
                "{} bytes is shorter than the header",
                bytes.len()
            )));
        }
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not a random forest artifact (bad magic bytes)"));
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&bytes[MAGIC.len()..header]);
        let found = u32::from_le_bytes(version);
        if found != FORMAT_VERSION {
            return Err(MlError::UnsupportedVersion {
                found,
                expected: FORMAT_VERSION,
            });
        }
        let body = &bytes[header..];
        // deserializing runs `check_structure` (see `ForestData`)
        options()
            .with_limit(body.len() as u64)
            .deserialize(body)
            .map_err(|e| corrupt(e.to_string()))
    }

    /// Checks every invariant prediction relies on, describing the first
    /// violation.
    pub(super) fn check_structure(&self) -> std::result::Result<(), String> {
        self.params
            .validate()
            .map_err(|e| format!("stored hyperparameters: {e}"))?;
        let (d, c) = (self.n_features, self.n_classes);
        if d == 0 || d >= LEAF as usize {
            return Err(format!("invalid feature count {d}"));
        }
        if c == 0 || c > MAX_CLASSES {
            return Err(format!("invalid class count {c}"));
        }
        let n = self.feature.len();
        if self.threshold.len() != n || self.left.len() != n || self.right.len() != n {
            return Err("node arrays have different lengths".into());
        }
        if n >= u32::MAX as usize {
            return Err("too many nodes".into());
        }
        let n_leaves = self.leaf_values.len() / c;
        if n_leaves * c != self.leaf_values.len() {
            return Err("leaf values are not a whole number of rows".into());
        }
        if !self.leaf_values.iter().all(|v| (0.0..=1.0).contains(v)) {
            return Err("leaf probability outside [0, 1]".into());
        }
        if self.importances.len() != d || !self.importances.iter().all(|v| v.is_finite()) {
            return Err("invalid feature importances".into());
        }
        if self.roots.is_empty() || self.roots[0] != 0 {
            return Err("no tree, or first root is not node 0".into());
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
                    return Err(format!(
                        "node {i} splits on missing feature {}",
                        self.feature[i]
                    ));
                }
                if self.threshold[i].is_nan() {
                    return Err(format!("node {i} has a NaN threshold"));
                }
                // children after their parent and inside the same tree: walks terminate
                if l <= i || r <= i || l >= end || r >= end {
                    return Err(format!("node {i} has out-of-range children"));
                }
            }
        }
        Ok(())
    }
}
