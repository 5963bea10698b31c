//! The prediction layout shared by every tree model: one 16-byte node per
//! tree node, trees in pre-order so that a left child directly follows its
//! parent (no stored left index, and the left path stays in the same cache
//! lines). A walk touches one cache line per node instead of one per field,
//! which is what makes a 100-tree, depth-10 forest score a row in a few
//! microseconds when its nodes no longer fit in cache.
//!
//! The models keep their trees in the field-per-array form they are fitted
//! and serialized in (artifacts are unchanged); this layout is derived from it
//! when a model is built or loaded, after the structure has been validated.
//! Thresholds stay `f64`, so a packed walk takes exactly the decisions of the
//! training-time tree.

use super::tree::LEAF;

/// One node: `x[feature] <= threshold` goes to the next node (left child),
/// anything else (NaN too) to `right`. A leaf has `feature == LEAF` and
/// `right` is its leaf index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
    right: u32,
}

/// Trees in packed pre-order; `roots[t]` is the first node of tree `t`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PackedTrees {
    roots: Vec<u32>,
    nodes: Vec<Node>,
}

/// A validated tree in field-per-array form: node `i` of `start..end` splits on
/// `feature[i]` at `threshold[i]` with children `left[i]`, `right[i]` (indices
/// into the same arrays, inside `start..end`), or is a leaf (`feature[i] ==
/// LEAF`) whose leaf index is `left[i]`.
pub(crate) struct TreeArrays<'a> {
    pub feature: &'a [u32],
    pub threshold: &'a [f64],
    pub left: &'a [u32],
    pub right: &'a [u32],
}

impl PackedTrees {
    /// Packs every tree of `a`, whose trees start at `roots` (ascending, the
    /// last tree ending at the end of the arrays).
    pub fn from_arrays(roots: &[u32], a: &TreeArrays<'_>) -> Result<Self, String> {
        let mut p = PackedTrees::default();
        for (t, &root) in roots.iter().enumerate() {
            let end = roots.get(t + 1).map_or(a.feature.len(), |&r| r as usize);
            p.push_tree(a, root as usize, end)?;
        }
        Ok(p)
    }

    /// Appends the tree of `a` occupying nodes `start..end` (root at `start`;
    /// children already checked to lie after their parent inside the range).
    /// A node reachable twice (a shared child) is an error, so a crafted
    /// artifact cannot blow the walk up exponentially.
    pub fn push_tree(
        &mut self,
        a: &TreeArrays<'_>,
        start: usize,
        end: usize,
    ) -> Result<(), String> {
        let first = self.nodes.len();
        if first + (end - start) >= u32::MAX as usize {
            return Err("too many nodes".into());
        }
        self.roots.push(first as u32);
        // (original node, packed node whose `right` must point at it)
        let mut stack = vec![(start, None::<usize>)];
        while let Some((i, parent)) = stack.pop() {
            if self.nodes.len() - first >= end - start {
                return Err(format!("tree at node {start} reaches a node twice"));
            }
            let at = self.nodes.len();
            if let Some(p) = parent {
                self.nodes[p].right = at as u32;
            }
            if a.feature[i] == LEAF {
                self.nodes.push(Node {
                    threshold: 0.0,
                    feature: LEAF,
                    right: a.left[i],
                });
            } else {
                self.nodes.push(Node {
                    threshold: a.threshold[i],
                    feature: a.feature[i],
                    right: 0,
                });
                stack.push((a.right[i] as usize, Some(at)));
                stack.push((a.left[i] as usize, None));
            }
        }
        Ok(())
    }

    /// Calls `visit` with the leaf index `row` reaches in every tree, in tree
    /// order. `row` must have a value for every split feature.
    #[inline]
    pub fn for_each_leaf(&self, row: &[f64], mut visit: impl FnMut(usize)) {
        // Walk LANES trees at once with branch-free steps: independent chains
        // hide memory latency and avoid mispredicted branches. Leaves are
        // absorbing, so a group is done once every lane sits on a leaf.
        const LANES: usize = 8;
        let nodes = &self.nodes[..];
        for group in self.roots.chunks(LANES) {
            // lanes past the end of a short last group repeat its first tree
            // and are not visited
            let mut at = [group[0] as usize; LANES];
            for (a, &r) in at.iter_mut().zip(group) {
                *a = r as usize;
            }
            loop {
                let mut all_leaves = true;
                for a in at.iter_mut() {
                    let n = nodes[*a];
                    let is_leaf = n.feature == LEAF;
                    all_leaves &= is_leaf;
                    let v = row[if is_leaf { 0 } else { n.feature as usize }];
                    let next = if v <= n.threshold {
                        *a + 1
                    } else {
                        n.right as usize
                    };
                    *a = if is_leaf { *a } else { next };
                }
                if all_leaves {
                    break;
                }
            }
            for &a in &at[..group.len()] {
                visit(nodes[a].right as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrays<'a>(f: &'a [u32], t: &'a [f64], l: &'a [u32], r: &'a [u32]) -> TreeArrays<'a> {
        TreeArrays {
            feature: f,
            threshold: t,
            left: l,
            right: r,
        }
    }

    #[test]
    fn best_first_order_is_repacked_in_pre_order() {
        // root splits on f0 at 0.5; its left child (node 2 here) splits on f1
        let (f, t) = ([0, LEAF, 1, LEAF, LEAF], [0.5, 0.0, 1.5, 0.0, 0.0]);
        let (l, r) = ([2, 0, 3, 1, 2], [1, 0, 4, 0, 0]);
        let p = PackedTrees::from_arrays(&[0], &arrays(&f, &t, &l, &r)).unwrap();
        let leaf = |row: &[f64]| {
            let mut out = Vec::new();
            p.for_each_leaf(row, |k| out.push(k));
            out
        };
        assert_eq!(leaf(&[0.0, 0.0]), vec![1]);
        assert_eq!(leaf(&[0.5, 2.0]), vec![2]);
        assert_eq!(leaf(&[0.7, 0.0]), vec![0]);
        assert_eq!(leaf(&[f64::NAN, 0.0]), vec![0]);
        assert_eq!(p.nodes.len(), 5);
        assert_eq!(p.nodes[1].feature, 1, "left child right after its parent");
    }

    #[test]
    fn a_shared_child_is_rejected() {
        // children after their parent, in range, but node 1 and 2 are reached
        // by two paths each: walking it as a tree would blow up
        let (f, t) = ([0, 0, LEAF], [0.5, 0.5, 0.0]);
        let (l, r) = ([1, 2, 0], [1, 2, 0]);
        let e = PackedTrees::from_arrays(&[0], &arrays(&f, &t, &l, &r)).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
