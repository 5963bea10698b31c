//! The node arrays of every tree model: what both growers grow a tree into, what
//! a fitted model keeps its trees in and serializes, and the structural checks
//! that make arrays read from an artifact safe to walk.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

/// Marker stored in `feature` for leaf nodes.
pub(crate) const LEAF: u32 = u32::MAX;

/// Trees in arrays indexed by node (struct of arrays); `roots[t]` is the first
/// node of tree `t`, whose nodes run up to the next root. Node `i` splits on
/// `feature[i]`: `x <= threshold[i]` goes to `left[i]`, anything else (NaN
/// too) to `right[i]`. A leaf has `feature[i] == LEAF`, threshold and right
/// child 0, and `left[i]` is its index among the leaves, whose values are
/// `leaf_values`, the same number for each leaf (one per class for the
/// classifier, one for the other models). The fields, in this order, are the
/// trees' part of every tree model's artifact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TreeNodes {
    pub roots: Vec<u32>,
    pub feature: Vec<u32>,
    pub threshold: Vec<f64>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub leaf_values: Vec<f64>,
}

/// A tree model's node arrays, read-only, for exporting the model to another runtime (the
/// MLflow model folder's scorer): the layout of `TreeNodes`. `roots[t]` is the first node of
/// tree `t`. Node `i` is a leaf when `feature[i] == LEAF_FEATURE`, and then `left[i]` is its
/// index among the leaves, whose `width` values are `leaf_values[left[i] * width..][..width]`;
/// otherwise a row goes to `left[i]` when `row[feature[i]] <= threshold[i]`, and to `right[i]`
/// when not (NaN included).
#[derive(Debug, Clone, Copy)]
pub struct TreeArrays<'a> {
    /// First node of each tree, in the order predictions sum them.
    pub roots: &'a [u32],
    /// Split feature of each node, or [`LEAF_FEATURE`].
    pub feature: &'a [u32],
    /// Split threshold of each node (0 for a leaf).
    pub threshold: &'a [f64],
    /// Left child of a split, leaf index of a leaf.
    pub left: &'a [u32],
    /// Right child of a split (0 for a leaf).
    pub right: &'a [u32],
    /// The leaves' values, `width` per leaf.
    pub leaf_values: &'a [f64],
    /// Values per leaf: the class count for the forest classifier, else 1.
    pub width: usize,
}

/// The `feature` of a leaf in [`TreeArrays`].
pub const LEAF_FEATURE: u32 = LEAF;

/// One tree as a grower leaves it: its nodes (a single tree, every child after
/// its parent) and the total impurity decrease or gain of each feature's splits.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrownTree {
    pub nodes: TreeNodes,
    pub importances: Vec<f64>,
}

impl GrownTree {
    /// A tree without nodes yet, its root to come at node 0.
    pub fn new(n_features: usize) -> Self {
        GrownTree {
            nodes: TreeNodes {
                roots: vec![0],
                ..TreeNodes::default()
            },
            importances: vec![0.0; n_features],
        }
    }
}

impl TreeNodes {
    /// The arrays, read-only, with `width` values per leaf.
    pub fn arrays(&self, width: usize) -> TreeArrays<'_> {
        TreeArrays {
            roots: &self.roots,
            feature: &self.feature,
            threshold: &self.threshold,
            left: &self.left,
            right: &self.right,
            leaf_values: &self.leaf_values,
            width,
        }
    }

    /// Appends a node; returns its index.
    #[inline]
    pub fn push_node(&mut self, feature: u32, threshold: f64, left: u32, right: u32) -> usize {
        self.feature.push(feature);
        self.threshold.push(threshold);
        self.left.push(left);
        self.right.push(right);
        self.feature.len() - 1
    }

    /// Appends the trees of `other`, whose leaves hold `width` values each, as
    /// they are in `self`; node and leaf indices must stay below `u32::MAX`.
    pub fn append(&mut self, other: &TreeNodes, width: usize) -> Result<()> {
        let n_nodes = self.feature.len() + other.feature.len();
        let n_leaves = (self.leaf_values.len() + other.leaf_values.len()) / width;
        if n_nodes >= u32::MAX as usize || n_leaves >= u32::MAX as usize {
            return Err(MlError::TooLarge(format!(
                "{n_nodes} tree nodes exceed u32 indexing"
            )));
        }
        let node_offset = self.feature.len() as u32;
        let leaf_offset = (self.leaf_values.len() / width) as u32;
        self.roots
            .extend(other.roots.iter().map(|&r| r + node_offset));
        for i in 0..other.feature.len() {
            let (left, right) = if other.feature[i] == LEAF {
                (other.left[i] + leaf_offset, 0)
            } else {
                (other.left[i] + node_offset, other.right[i] + node_offset)
            };
            self.push_node(other.feature[i], other.threshold[i], left, right);
        }
        self.leaf_values.extend_from_slice(&other.leaf_values);
        Ok(())
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.feature.len()
    }

    /// Checks every invariant a walk relies on, for rows of `n_features`
    /// values and leaves of `width` values (at least 1), naming the first
    /// violation: children after their parent and inside its tree (so walks
    /// end), split features below `n_features`, no NaN threshold, leaves
    /// inside `leaf_values`. (That no node is reached twice is checked by
    /// packing.)
    pub fn check(&self, n_features: usize, width: usize) -> std::result::Result<(), String> {
        let n = self.feature.len();
        if self.threshold.len() != n || self.left.len() != n || self.right.len() != n {
            return Err("node arrays have different lengths".into());
        }
        if n >= u32::MAX as usize {
            return Err("too many nodes".into());
        }
        let n_leaves = self.leaf_values.len() / width;
        if n_leaves * width != self.leaf_values.len() {
            return Err("leaf values are not a whole number of leaves".into());
        }
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
                if self.feature[i] as usize >= n_features {
                    return Err(format!(
                        "node {i} splits on missing feature {}",
                        self.feature[i]
                    ));
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

    /// Leaf reached by `row` (at least `n_features` values) from node `node`:
    /// the plain walk, the reference the packed walk is tested against.
    #[cfg(test)]
    pub fn leaf_of(&self, mut node: usize, row: &[f64]) -> usize {
        loop {
            let f = self.feature[node];
            if f == LEAF {
                return self.left[node] as usize;
            }
            node = if row[f as usize] <= self.threshold[node] {
                self.left[node]
            } else {
                self.right[node]
            } as usize;
        }
    }
}
