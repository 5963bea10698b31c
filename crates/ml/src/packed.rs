//! The prediction layout shared by every tree model: one 8-byte node per tree
//! node, trees in pre-order so that a left child directly follows its parent.
//!
//! A node does not hold its threshold. Every threshold of the model on a
//! feature goes into that feature's sorted list of cuts, and a node holds the
//! position `k` of its threshold in that list. To score a row, each feature's
//! value is first turned into its rank (how many cuts lie below it); then
//! `x <= cut[k]` is exactly `rank <= k`, so a walk takes the same decisions as
//! the f64 thresholds it was derived from. Half the bytes of a node with an
//! f64 threshold is what keeps a 100-tree, depth-10 forest's walks in cache.
//!
//! The models keep their trees in the node arrays they are fitted and
//! serialized in (`nodes.rs`); this layout is derived from them when a model
//! is built or loaded, after the structure has been validated.
//!
//! Models imported from other libraries add tests of their own (missing values
//! sent left, zeros counted as missing, category sets: `split_test.rs`). They
//! change how a value is ranked, never the walk: a split feature is a (column,
//! test) pair, and a model whose splits are all ironmage's ranks its row
//! through the same loop as before.

use crate::nodes::{TreeNodes, LEAF};
use crate::split_test::{in_category_set, SplitTest, SplitTests};

/// Largest node count of one tree (right-child offsets have 24 bits).
const MAX_TREE_NODES: usize = 1 << 24;
/// Largest number of distinct split features (24 bits).
const MAX_SPLIT_FEATURES: usize = 1 << 24;
/// `k` of a leaf; split positions stay below it.
const LEAF_K: u64 = 0xFFFF;
/// Rank of a missing or NaN value: above every split's `k`, so it goes right.
const NAN_RANK: u16 = u16::MAX;

/// A split is `k << 48 | feature << 24 | right offset` (`feature` indexes the
/// split features, the right child sits `offset` nodes further on); a leaf is
/// `LEAF_K << 48 | leaf index`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node(u64);

impl Node {
    fn split(feature: usize, k: usize, right_offset: usize) -> Node {
        Node((k as u64) << 48 | (feature as u64) << 24 | right_offset as u64)
    }

    fn leaf(index: u32) -> Node {
        Node(LEAF_K << 48 | u64::from(index))
    }

    fn k(self) -> u64 {
        self.0 >> 48
    }

    fn feature(self) -> usize {
        ((self.0 >> 24) & 0xFF_FFFF) as usize
    }

    fn right_offset(self) -> usize {
        (self.0 & 0xFF_FFFF) as usize
    }

    fn leaf_index(self) -> usize {
        (self.0 & 0xFFFF_FFFF_FFFF) as usize
    }
}

/// Trees in packed pre-order; `roots[t]` is the first node of tree `t`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PackedTrees {
    roots: Vec<u32>,
    nodes: Vec<Node>,
    /// The row column of each split feature.
    columns: Vec<u32>,
    /// The test of each split feature; empty when every split is
    /// [`SplitTest::Le`] (ironmage's own models).
    tests: Vec<SplitTest>,
    /// Category sets and zero band of the tests.
    sets: Vec<Vec<u32>>,
    zero_band: f64,
    /// Split feature `j`'s distinct thresholds, ascending, are
    /// `cuts[starts[j]..starts[j + 1]]`.
    starts: Vec<u32>,
    cuts: Vec<f64>,
}

/// A key whose integer order is the numeric order of (non-NaN) `t`; -0.0 and
/// 0.0, which take the same decisions, share a key.
fn order_key(t: f64) -> u64 {
    let bits = (t + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

impl PackedTrees {
    /// Packs every tree of `a`, whose structure has been checked
    /// ([`TreeNodes::check`]) or is sound by construction.
    pub fn from_nodes(a: &TreeNodes) -> Result<Self, String> {
        Self::with_tests(a, None)
    }

    /// Packs every tree of `a` like [`Self::from_nodes`], each split node `i`
    /// testing `tests.per_node[i]` (a slice as long as the nodes; its `In`
    /// sets must exist).
    pub fn with_tests(a: &TreeNodes, tests: Option<&SplitTests>) -> Result<Self, String> {
        let mut p = PackedTrees::default();
        if let Some(t) = tests {
            if t.per_node.len() != a.feature.len() {
                return Err("split tests do not match the nodes".into());
            }
            let n_sets = t.sets.len();
            if t.per_node
                .iter()
                .any(|s| matches!(s, SplitTest::In { set } if *set as usize >= n_sets))
            {
                return Err("a split tests a missing category set".into());
            }
            p.sets = t.sets.clone();
            p.zero_band = t.zero_band;
        }
        let test_of = |i: usize| tests.map_or(SplitTest::Le, |t| t.per_node[i]);
        p.collect_cuts(a, &test_of)?;
        for (t, &root) in a.roots.iter().enumerate() {
            let end = a.roots.get(t + 1).map_or(a.feature.len(), |&r| r as usize);
            p.push_tree(a, root as usize, end, &test_of)?;
        }
        Ok(p)
    }

    /// Builds the split features and their sorted distinct cuts.
    fn collect_cuts(
        &mut self,
        a: &TreeNodes,
        test_of: &impl Fn(usize) -> SplitTest,
    ) -> Result<(), String> {
        // (feature, test, threshold as an ordered key): integer sorting is what
        // keeps loading a 100-tree forest within a few milliseconds
        let mut pairs: Vec<(u32, SplitTest, u64)> = (0..a.feature.len())
            .filter(|&i| a.feature[i] != LEAF)
            .map(|i| {
                let test = test_of(i);
                // a category test's one "cut" puts a member (rank 0) left
                let t = if matches!(test, SplitTest::In { .. }) {
                    0.0
                } else {
                    a.threshold[i]
                };
                (a.feature[i], test, order_key(t))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let plain = pairs.iter().all(|p| p.1 == SplitTest::Le);
        for (f, test, key) in pairs {
            if self.columns.last() != Some(&f) || self.tests.last() != Some(&test) {
                self.columns.push(f);
                self.tests.push(test);
                self.starts.push(self.cuts.len() as u32);
            }
            self.cuts.push(from_order_key(key));
        }
        self.starts.push(self.cuts.len() as u32);
        if plain {
            self.tests.clear();
        }
        if self.columns.len() > MAX_SPLIT_FEATURES {
            return Err("splits on more than 2^24 features".into());
        }
        for j in 0..self.columns.len() {
            // positions 0..n must stay below LEAF_K, and ranks up to n below NAN_RANK
            if self.cuts_of(j).len() >= usize::from(NAN_RANK) {
                return Err(format!(
                    "feature {} has more than 65534 distinct thresholds",
                    self.columns[j]
                ));
            }
        }
        Ok(())
    }

    fn cuts_of(&self, j: usize) -> &[f64] {
        &self.cuts[self.starts[j] as usize..self.starts[j + 1] as usize]
    }

    /// Appends the tree of `a` occupying nodes `start..end` (root at `start`;
    /// children already checked to lie after their parent inside the range).
    /// A node reachable twice (a shared child) is an error, so a crafted
    /// artifact cannot blow the walk up exponentially.
    fn push_tree(
        &mut self,
        a: &TreeNodes,
        start: usize,
        end: usize,
        test_of: &impl Fn(usize) -> SplitTest,
    ) -> Result<(), String> {
        let first = self.nodes.len();
        if end - start > MAX_TREE_NODES {
            return Err(format!("tree at node {start} has more than 2^24 nodes"));
        }
        if first + (end - start) >= u32::MAX as usize {
            return Err("too many nodes".into());
        }
        self.roots.push(first as u32);
        // (original node, packed split whose right child it is)
        let mut stack = vec![(start, None::<usize>)];
        while let Some((i, parent)) = stack.pop() {
            if self.nodes.len() - first >= end - start {
                return Err(format!("tree at node {start} reaches a node twice"));
            }
            let at = self.nodes.len();
            if let Some(p) = parent {
                let n = self.nodes[p];
                self.nodes[p] = Node::split(n.feature(), n.k() as usize, at - p);
            }
            if a.feature[i] == LEAF {
                self.nodes.push(Node::leaf(a.left[i]));
                continue;
            }
            let j = self
                .split_feature(a.feature[i], test_of(i))
                .ok_or_else(|| format!("node {i}: feature not among the split features"))?;
            let t = if self.tests.is_empty() || !matches!(self.tests[j], SplitTest::In { .. }) {
                a.threshold[i]
            } else {
                0.0
            };
            let k = self.cuts_of(j).partition_point(|&c| c < t);
            self.nodes.push(Node::split(j, k, 0));
            stack.push((a.right[i] as usize, Some(at)));
            stack.push((a.left[i] as usize, None));
        }
        Ok(())
    }

    /// The split feature of `column` and `test`.
    fn split_feature(&self, column: u32, test: SplitTest) -> Option<usize> {
        if self.tests.is_empty() {
            return (test == SplitTest::Le)
                .then(|| self.columns.binary_search(&column).ok())
                .flatten();
        }
        // (column, test) pairs are sorted, as `collect_cuts` pushed them
        let lo = self.columns.partition_point(|&c| c < column);
        let hi = self.columns.partition_point(|&c| c <= column);
        (lo..hi).find(|&j| self.tests[j] == test)
    }

    /// Number of split features ((column, test) pairs): the length of the
    /// rank buffer of [`Self::for_each_leaf_with`].
    pub fn n_split_features(&self) -> usize {
        self.columns.len().max(1)
    }

    /// [`Self::for_each_leaf`] with a caller's rank buffer of at least
    /// [`Self::n_split_features`] values, so that scoring many rows of a model
    /// with many split features allocates nothing per row.
    #[inline]
    pub fn for_each_leaf_with(&self, row: &[f64], ranks: &mut [u16], visit: impl FnMut(usize)) {
        let ranks = &mut ranks[..self.n_split_features()];
        self.rank_row(row, ranks);
        self.walk(ranks, visit);
    }

    /// Calls `visit` with the leaf index `row` reaches in every tree, in tree
    /// order. Values missing at the end of `row`, and NaN, go right (for
    /// ironmage's own splits; an imported split goes where its test says).
    #[inline]
    pub fn for_each_leaf(&self, row: &[f64], visit: impl FnMut(usize)) {
        const ON_STACK: usize = 128;
        let n = self.columns.len().max(1);
        if n <= ON_STACK {
            let mut ranks = [0u16; ON_STACK];
            self.rank_row(row, &mut ranks[..n]);
            self.walk(&ranks[..n], visit);
        } else {
            let mut ranks = vec![0u16; n];
            self.rank_row(row, &mut ranks);
            self.walk(&ranks, visit);
        }
    }

    /// The rank of each split feature's value: how many of its cuts lie below.
    fn rank_row(&self, row: &[f64], ranks: &mut [u16]) {
        if !self.tests.is_empty() {
            return self.rank_row_tested(row, ranks);
        }
        for (j, (&col, rank)) in self.columns.iter().zip(ranks.iter_mut()).enumerate() {
            let x = row.get(col as usize).copied().unwrap_or(f64::NAN);
            *rank = if x.is_nan() {
                NAN_RANK
            } else {
                self.cuts_of(j).partition_point(|&c| c < x) as u16
            };
        }
    }

    /// [`Self::rank_row`] for a model with imported tests (kept out of line,
    /// so that the loop of ironmage's own models stays as it was).
    #[inline(never)]
    fn rank_row_tested(&self, row: &[f64], ranks: &mut [u16]) {
        let tests = self.columns.iter().zip(&self.tests);
        for (j, ((&col, &test), rank)) in tests.zip(ranks.iter_mut()).enumerate() {
            let x = row.get(col as usize).copied().unwrap_or(f64::NAN);
            *rank = match test {
                SplitTest::In { set } => u16::from(!in_category_set(&self.sets[set as usize], x)),
                SplitTest::LeMissing { left, zero_missing }
                    if x.is_nan() || (zero_missing && x.abs() <= self.zero_band) =>
                {
                    if left {
                        0
                    } else {
                        NAN_RANK
                    }
                }
                SplitTest::Le if x.is_nan() => NAN_RANK,
                _ => self.cuts_of(j).partition_point(|&c| c < x) as u16,
            };
        }
    }

    fn walk(&self, ranks: &[u16], mut visit: impl FnMut(usize)) {
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
                    let is_leaf = n.k() == LEAF_K;
                    all_leaves &= is_leaf;
                    let rank = ranks[if is_leaf { 0 } else { n.feature() }];
                    let next = if u64::from(rank) <= n.k() {
                        *a + 1
                    } else {
                        *a + n.right_offset()
                    };
                    *a = if is_leaf { *a } else { next };
                }
                if all_leaves {
                    break;
                }
            }
            for &a in &at[..group.len()] {
                visit(nodes[a].leaf_index());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(roots: &[u32], f: &[u32], t: &[f64], l: &[u32], r: &[u32]) -> TreeNodes {
        TreeNodes {
            roots: roots.to_vec(),
            feature: f.to_vec(),
            threshold: t.to_vec(),
            left: l.to_vec(),
            right: r.to_vec(),
            leaf_values: Vec::new(),
        }
    }

    fn leaves(p: &PackedTrees, row: &[f64]) -> Vec<usize> {
        let mut out = Vec::new();
        p.for_each_leaf(row, |k| out.push(k));
        out
    }

    #[test]
    fn best_first_order_is_repacked_in_pre_order() {
        // root splits on f0 at 0.5; its left child (node 2 here) splits on f1
        let (f, t) = ([0, LEAF, 1, LEAF, LEAF], [0.5, 0.0, 1.5, 0.0, 0.0]);
        let (l, r) = ([2, 0, 3, 1, 2], [1, 0, 4, 0, 0]);
        let p = PackedTrees::from_nodes(&nodes(&[0], &f, &t, &l, &r)).unwrap();
        assert_eq!(leaves(&p, &[0.0, 0.0]), vec![1]);
        assert_eq!(leaves(&p, &[0.5, 2.0]), vec![2]);
        assert_eq!(leaves(&p, &[0.7, 0.0]), vec![0]);
        assert_eq!(leaves(&p, &[f64::NAN, 0.0]), vec![0]);
        assert_eq!(leaves(&p, &[0.0]), vec![2], "a missing value goes right");
        assert_eq!(p.nodes.len(), 5);
        assert_eq!(p.nodes[1].feature(), 1, "left child right after its parent");
    }

    #[test]
    fn ranks_take_the_decisions_of_the_thresholds() {
        // one tree per threshold on feature 0 (leaf 2t left, 2t+1 right), the
        // thresholds shared, repeated, signed zero, infinite and subnormal
        let ts = [
            -1.0,
            0.5,
            0.5,
            -0.0,
            0.0,
            3.0,
            f64::INFINITY,
            -f64::INFINITY,
            5e-324,
            1e300,
        ];
        let (mut f, mut t, mut l, mut r, mut roots) = (vec![], vec![], vec![], vec![], vec![]);
        for (k, &th) in ts.iter().enumerate() {
            let base = f.len() as u32;
            roots.push(base);
            f.extend([0, LEAF, LEAF]);
            t.extend([th, 0.0, 0.0]);
            l.extend([base + 1, 2 * k as u32, 2 * k as u32 + 1]);
            r.extend([base + 2, 0, 0]);
        }
        let p = PackedTrees::from_nodes(&nodes(&roots, &f, &t, &l, &r)).unwrap();
        let xs = [
            -2.0,
            -1.0,
            -0.5,
            -0.0,
            0.0,
            5e-324,
            1e-300,
            0.5,
            0.6,
            3.0,
            1e300,
            1e301,
            f64::INFINITY,
            -f64::INFINITY,
            f64::NAN,
        ];
        for x in xs {
            let want: Vec<usize> = ts
                .iter()
                .enumerate()
                .map(|(k, &th)| if x <= th { 2 * k } else { 2 * k + 1 })
                .collect();
            assert_eq!(leaves(&p, &[x]), want, "x = {x}");
        }
    }

    #[test]
    fn a_shared_child_is_rejected() {
        // children after their parent, in range, but node 1 and 2 are reached
        // by two paths each: walking it as a tree would blow up
        let (f, t) = ([0, 0, LEAF], [0.5, 0.5, 0.0]);
        let (l, r) = ([1, 2, 0], [1, 2, 0]);
        let e = PackedTrees::from_nodes(&nodes(&[0], &f, &t, &l, &r)).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn a_model_without_splits_is_walked() {
        let p =
            PackedTrees::from_nodes(&nodes(&[0, 1], &[LEAF, LEAF], &[0.0; 2], &[0, 1], &[0; 2]))
                .unwrap();
        assert_eq!(leaves(&p, &[]), vec![0, 1]);
    }
}
