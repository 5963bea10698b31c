//! A model trained by another library, scored by ironmage's packed tree walk:
//! its trees, how their leaf values add up, and its outputs.

use rayon::prelude::*;

use super::link::{apply, Link};
use crate::error::{MlError, Result};
use crate::nodes::TreeNodes;
use crate::packed::PackedTrees;
use crate::split_test::SplitTests;

impl ImportedModel {
    /// Builds the model from its parts, checking them and packing its trees.
    pub(crate) fn new(parts: Parts) -> Result<Self> {
        let bad = |reason: String| MlError::InvalidModel {
            origin: parts.origin.name(),
            reason,
        };
        let n_groups = parts.base.len();
        if parts.n_features == 0 {
            return Err(bad("the model has no features".into()));
        }
        if !parts.feature_names.is_empty() && parts.feature_names.len() != parts.n_features {
            return Err(bad(format!(
                "{} feature names for {} features",
                parts.feature_names.len(),
                parts.n_features
            )));
        }
        if n_groups == 0 || parts.tree_group.iter().any(|&g| g as usize >= n_groups) {
            return Err(bad("a tree belongs to no output group".into()));
        }
        if parts.tree_group.len() != parts.nodes.n_trees() {
            return Err(bad("tree groups do not match the trees".into()));
        }
        if !parts.base.iter().all(|b| b.is_finite()) {
            return Err(bad(format!("non-finite base score {:?}", parts.base)));
        }
        let expected_groups = match (parts.task, parts.link) {
            (Task::Classification { n_classes }, Link::Softmax | Link::SigmoidEach { .. }) => {
                n_classes
            }
            _ => 1,
        };
        if n_groups != expected_groups {
            return Err(bad(format!(
                "{n_groups} tree groups where the objective has {expected_groups}"
            )));
        }
        let packed = PackedTrees::with_tests(&parts.nodes, Some(&parts.tests)).map_err(bad)?;
        Ok(ImportedModel {
            origin: parts.origin,
            objective: parts.objective,
            n_features: parts.n_features,
            feature_names: parts.feature_names,
            task: parts.task,
            link: parts.link,
            base: parts.base,
            tree_group: parts.tree_group,
            leaf_values: parts.nodes.leaf_values,
            f32_sums: parts.f32_sums,
            average_over: parts.average_over,
            packed,
        })
    }

    /// The library the model was trained with.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The objective as the model file names it (e.g. `binary sigmoid:1`,
    /// `multi:softprob`).
    pub fn objective(&self) -> &str {
        &self.objective
    }

    /// Number of features a row has.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The features' names, in row order; empty when the file has none
    /// (XGBoost trained on a bare array).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Regression, or classification and its number of classes.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.tree_group.len()
    }

    /// Number of values a row's prediction has: 1 for a regressor, the
    /// number of classes for a classifier (2 for a binary one).
    pub fn n_outputs(&self) -> usize {
        match self.task {
            Task::Regression => 1,
            Task::Classification { n_classes } => n_classes,
        }
    }

    /// The prediction of one row of [`Self::n_features`] values (NaN for a
    /// missing one): the value of a regressor, the class probabilities of a
    /// classifier, equal to the origin library's.
    pub fn predict_row(&self, row: &[f64]) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.n_outputs()];
        self.predict_into(row, &mut out)?;
        Ok(out)
    }

    /// Predictions of `rows` (row-major, [`Self::n_features`] values each)
    /// written into `out` ([`Self::n_outputs`] values per row), in parallel
    /// for large batches, with no allocation per row.
    pub fn predict_into(&self, rows: &[f64], out: &mut [f64]) -> Result<()> {
        const ROWS_PER_TASK: usize = 64;
        let (d, w) = (self.n_features, self.n_outputs());
        let n_rows = rows.len() / d;
        if n_rows * d != rows.len() {
            return Err(MlError::MismatchedLengths {
                what: "row values vs a whole number of rows of n_features",
                expected: (n_rows + 1) * d,
                actual: rows.len(),
            });
        }
        if out.len() != n_rows * w {
            return Err(MlError::MismatchedLengths {
                what: "outputs vs rows times n_outputs",
                expected: n_rows * w,
                actual: out.len(),
            });
        }
        let score_block = |rows: &[f64], out: &mut [f64]| {
            let mut scratch = Scratch {
                ranks: vec![0; self.packed.n_split_features()],
                sums: vec![0.0; self.base.len()],
            };
            for (row, o) in rows.chunks_exact(d).zip(out.chunks_exact_mut(w)) {
                self.score(row, &mut scratch, o);
            }
        };
        if n_rows <= ROWS_PER_TASK {
            score_block(rows, out);
        } else {
            rows.par_chunks(ROWS_PER_TASK * d)
                .zip(out.par_chunks_mut(ROWS_PER_TASK * w))
                .for_each(|(r, o)| score_block(r, o));
        }
        Ok(())
    }

    /// Scores one row into `out`.
    #[inline]
    fn score(&self, row: &[f64], s: &mut Scratch, out: &mut [f64]) {
        let sums = &mut s.sums[..];
        sums.copy_from_slice(&self.base);
        let values = &self.leaf_values[..];
        match (self.f32_sums, sums.len()) {
            (false, 1) => self.packed.for_each_leaf_with(row, &mut s.ranks, |leaf| {
                sums[0] += values[leaf];
            }),
            (false, _) => {
                let mut t = 0;
                self.packed.for_each_leaf_with(row, &mut s.ranks, |leaf| {
                    sums[self.tree_group[t] as usize] += values[leaf];
                    t += 1;
                });
            }
            (true, _) => {
                // XGBoost adds in f32, tree after tree
                let mut t = 0;
                self.packed.for_each_leaf_with(row, &mut s.ranks, |leaf| {
                    let g = self.tree_group[t] as usize;
                    sums[g] = f64::from(sums[g] as f32 + values[leaf] as f32);
                    t += 1;
                });
            }
        }
        if let Some(n) = self.average_over {
            for v in sums.iter_mut() {
                *v /= n;
            }
        }
        apply(self.link, sums, out, self.f32_sums);
    }
}

impl Origin {
    /// The library's name.
    pub fn name(self) -> &'static str {
        match self {
            Origin::LightGbm => "LightGBM",
            Origin::XgBoost => "XGBoost",
        }
    }
}

/// A tree model trained by LightGBM or XGBoost, read from the file the
/// library saved ([`super::lightgbm::load`], [`super::xgboost::load_json`],
/// [`super::xgboost::load_ubj`]) and scored natively, its predictions equal
/// to the library's.
#[derive(Debug, Clone)]
pub struct ImportedModel {
    origin: Origin,
    objective: String,
    n_features: usize,
    feature_names: Vec<String>,
    task: Task,
    link: Link,
    /// The raw score of each tree group before any tree.
    base: Vec<f64>,
    /// The group each tree adds to.
    tree_group: Vec<u32>,
    leaf_values: Vec<f64>,
    /// Whether leaf values add up in f32 (XGBoost) rather than f64.
    f32_sums: bool,
    /// Raw scores are divided by this (LightGBM random forests).
    average_over: Option<f64>,
    packed: PackedTrees,
}

/// What an imported model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// One value per row.
    Regression,
    /// One probability per class and row.
    Classification {
        /// Number of classes (2 for a binary classifier).
        n_classes: usize,
    },
}

/// The library an imported model was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// LightGBM (text model).
    LightGbm,
    /// XGBoost (JSON or UBJSON model).
    XgBoost,
}

/// The parts an importer reads, for [`ImportedModel::new`].
pub(crate) struct Parts {
    pub origin: Origin,
    pub objective: String,
    pub n_features: usize,
    pub feature_names: Vec<String>,
    pub task: Task,
    pub link: Link,
    pub base: Vec<f64>,
    pub tree_group: Vec<u32>,
    pub nodes: TreeNodes,
    pub tests: SplitTests,
    pub f32_sums: bool,
    pub average_over: Option<f64>,
}

/// Per-thread buffers of a batch.
struct Scratch {
    ranks: Vec<u16>,
    sums: Vec<f64>,
}
