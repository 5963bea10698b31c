//! Trees as another library numbers their nodes, laid into ironmage's node
//! arrays (`nodes.rs`) with the test of each split (`split_test.rs`).
//!
//! Each tree is walked from its root and its nodes renumbered in pre-order, so
//! the arrays hold every invariant the packed walk needs by construction,
//! whatever order the file had; a node reached twice, a child out of range or
//! a split on a missing feature is an error naming the tree.

use crate::nodes::{TreeNodes, LEAF};
use crate::split_test::{SplitTest, SplitTests};

/// Lays trees into node arrays; `finish` gives them with their tests.
pub(crate) struct Assembler {
    nodes: TreeNodes,
    tests: SplitTests,
    n_features: usize,
}

impl Assembler {
    /// No tree yet, for rows of `n_features` values; `zero_band` is the band
    /// of [`SplitTest::LeMissing`] with `zero_missing`.
    pub fn new(n_features: usize, zero_band: f64) -> Self {
        Assembler {
            nodes: TreeNodes::default(),
            tests: SplitTests {
                zero_band,
                ..SplitTests::default()
            },
            n_features,
        }
    }

    /// Adds a category set (a bitset of 32-bit words); returns its index.
    pub fn add_set(&mut self, words: Vec<u32>) -> u32 {
        self.tests.sets.push(words);
        (self.tests.sets.len() - 1) as u32
    }

    /// Appends tree `tree` (its name in errors), whose node `root` is the
    /// root and `node(i)` describes node `i` of `n_nodes`.
    pub fn push_tree(
        &mut self,
        tree: usize,
        n_nodes: usize,
        root: usize,
        node: impl Fn(usize) -> Result<RawNode, String>,
    ) -> Result<(), String> {
        let first = self.nodes.feature.len();
        if first + n_nodes >= u32::MAX as usize {
            return Err("too many nodes".into());
        }
        self.nodes.roots.push(first as u32);
        let mut seen = vec![false; n_nodes];
        // (original node, new index of the split whose right child it is)
        let mut stack = vec![(root, None::<usize>)];
        while let Some((i, parent)) = stack.pop() {
            if i >= n_nodes {
                return Err(format!(
                    "tree {tree}: child {i} out of range ({n_nodes} nodes)"
                ));
            }
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("tree {tree}: node {i} is reached twice"));
            }
            let at = self.nodes.feature.len() as u32;
            if let Some(p) = parent {
                self.nodes.right[p] = at;
            }
            match node(i)? {
                RawNode::Leaf(value) => {
                    if !value.is_finite() {
                        return Err(format!("tree {tree}: leaf {i} has value {value}"));
                    }
                    let leaf = self.nodes.leaf_values.len() as u32;
                    self.nodes.leaf_values.push(value);
                    self.nodes.push_node(LEAF, 0.0, leaf, 0);
                    self.tests.per_node.push(SplitTest::Le);
                }
                RawNode::Split {
                    feature,
                    threshold,
                    test,
                    left,
                    right,
                } => {
                    if feature >= self.n_features {
                        return Err(format!(
                            "tree {tree}: node {i} splits on feature {feature}, but the model has {} features",
                            self.n_features
                        ));
                    }
                    if threshold.is_nan() {
                        return Err(format!("tree {tree}: node {i} has a NaN threshold"));
                    }
                    // the left child comes next; the right one's index is set when it is reached
                    self.nodes.push_node(feature as u32, threshold, at + 1, 0);
                    self.tests.per_node.push(test);
                    stack.push((right, Some(at as usize)));
                    stack.push((left, None));
                }
            }
        }
        Ok(())
    }

    /// The node arrays and the test of each node.
    pub fn finish(self) -> (TreeNodes, SplitTests) {
        (self.nodes, self.tests)
    }
}

/// One node as the importing library describes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RawNode {
    /// A leaf and its value.
    Leaf(f64),
    /// A split of `feature` (a row column) at `threshold` (ignored by an
    /// `In` test) whose children are nodes `left` and `right` of the tree.
    Split {
        feature: usize,
        threshold: f64,
        test: SplitTest,
        left: usize,
        right: usize,
    },
}
