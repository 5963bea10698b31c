//! A fitted model's trees: the node arrays it keeps and serializes
//! (`nodes.rs`), and the packed layout its predictions walk (`packed.rs`),
//! derived from them once they are known to be sound.

use serde::Serialize;

use crate::error::{MlError, Result};
use crate::nodes::TreeNodes;
use crate::packed::PackedTrees;

/// Serializes as its node arrays alone. It has no `Deserialize`: a model reads
/// [`TreeNodes`] and goes through [`Ensemble::load`], so no deserialized model
/// walks unchecked trees.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Ensemble {
    nodes: TreeNodes,
    #[serde(skip)]
    packed: PackedTrees,
}

impl Ensemble {
    /// The trees of a fit, sound by construction.
    pub fn new(nodes: TreeNodes) -> Result<Self> {
        let packed = PackedTrees::from_nodes(&nodes).map_err(MlError::TooLarge)?;
        Ok(Ensemble { nodes, packed })
    }

    /// Trees read from an artifact, checked ([`TreeNodes::check`]) for rows of
    /// `n_features` values and leaves of `width` values, then packed.
    pub fn load(
        nodes: TreeNodes,
        n_features: usize,
        width: usize,
    ) -> std::result::Result<Self, String> {
        nodes.check(n_features, width)?;
        let packed = PackedTrees::from_nodes(&nodes)?;
        Ok(Ensemble { nodes, packed })
    }

    /// The node arrays.
    pub fn nodes(&self) -> &TreeNodes {
        &self.nodes
    }

    /// The node arrays, for tests that craft unsound artifacts: the packed
    /// layout is left as it was.
    #[cfg(test)]
    pub fn nodes_mut(&mut self) -> &mut TreeNodes {
        &mut self.nodes
    }

    /// Calls `visit` with the leaf index `row` reaches in every tree, in tree
    /// order. Values missing at the end of `row`, and NaN, go right.
    #[inline]
    pub fn for_each_leaf(&self, row: &[f64], visit: impl FnMut(usize)) {
        self.packed.for_each_leaf(row, visit);
    }

    /// Sum over trees of the value of the leaf `row` reaches, for trees with
    /// one value per leaf.
    pub fn sum_row(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        self.packed
            .for_each_leaf(row, |leaf| sum += self.nodes.leaf_values[leaf]);
        sum
    }
}
