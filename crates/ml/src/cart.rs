//! Histogram-based CART learner (gini impurity) for one tree of the forest.
//!
//! A tree is grown depth-first over an index array of the samples with a
//! positive bootstrap weight; each node owns a contiguous range of it, which is
//! stably partitioned when the node splits. For every candidate feature the
//! node's class histogram over that feature's bins is built (or, for nodes much
//! smaller than the bin count, the node's samples are sorted by bin) and all
//! thresholds between non-empty bins are scored. Ties keep the first best
//! (feature order as drawn, then ascending threshold).
//!
//! Nodes are laid out in pre-order, so both children of a node have larger
//! indices than the node itself: a walk always terminates.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::binning::BinnedData;
use crate::nodes::{GrownTree, LEAF};

/// Resolved hyperparameters of one tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeConfig {
    /// Maximum depth (root has depth 0); `usize::MAX` for none.
    pub max_depth: usize,
    /// Minimum number of (distinct) samples to split a node.
    pub min_samples_split: usize,
    /// Minimum number of (distinct) samples in each child.
    pub min_samples_leaf: usize,
    /// Number of non-constant features to examine per split.
    pub max_features: usize,
    /// Number of classes.
    pub n_classes: usize,
}

/// Gini proxy of a split, `sum(cl^2)/wl + sum(cr^2)/wr`: maximising it
/// minimises the weighted child impurity `wl*gini_l + wr*gini_r`.
#[inline]
fn split_proxy(left: &[u64], total: &[u64]) -> f64 {
    let (mut sl, mut sr, mut wl, mut wr) = (0.0f64, 0.0f64, 0u64, 0u64);
    for (&l, &t) in left.iter().zip(total) {
        let r = t - l;
        sl += (l as f64) * (l as f64);
        sr += (r as f64) * (r as f64);
        wl += l;
        wr += r;
    }
    sl / wl as f64 + sr / wr as f64
}

/// `sum(c^2)/w` of a node, so that the weighted impurity decrease of a split
/// is `split_proxy - node_term`.
fn node_term(counts: &[u64]) -> f64 {
    let w: u64 = counts.iter().sum();
    let s: f64 = counts.iter().map(|&c| (c as f64) * (c as f64)).sum();
    s / w as f64
}

#[derive(Debug, Clone, Copy)]
struct Split {
    feature: usize,
    /// Last bin going left.
    bin: u16,
    /// First non-empty bin (in the node) going right.
    next_bin: u16,
    proxy: f64,
}

/// Scores the thresholds of one feature, one non-empty bin at a time.
struct Scanner<'a> {
    total: &'a [u64],
    rows: usize,
    min_leaf: usize,
    left: Vec<u64>,
    left_rows: usize,
    groups: usize,
    /// The best split was set at the previous bin and waits for its `next_bin`.
    pending: bool,
}

impl<'a> Scanner<'a> {
    fn new(total: &'a [u64], rows: usize, min_leaf: usize) -> Self {
        Scanner {
            total,
            rows,
            min_leaf,
            left: vec![0; total.len()],
            left_rows: 0,
            groups: 0,
            pending: false,
        }
    }

    /// Adds a non-empty bin to the left side and scores the threshold just
    /// after it. Returns `false` once every row is on the left.
    #[inline]
    fn push(
        &mut self,
        bin: u16,
        counts: impl Iterator<Item = u64>,
        rows: usize,
        best: &mut Option<Split>,
        feature: usize,
    ) -> bool {
        if self.pending {
            if let Some(b) = best.as_mut() {
                b.next_bin = bin;
            }
            self.pending = false;
        }
        for (l, c) in self.left.iter_mut().zip(counts) {
            *l += c;
        }
        self.left_rows += rows;
        self.groups += 1;
        let right_rows = self.rows - self.left_rows;
        if right_rows == 0 {
            return false;
        }
        if self.left_rows >= self.min_leaf && right_rows >= self.min_leaf {
            let proxy = split_proxy(&self.left, self.total);
            if best.is_none_or(|b| proxy > b.proxy) {
                *best = Some(Split {
                    feature,
                    bin,
                    next_bin: bin,
                    proxy,
                });
                self.pending = true;
            }
        }
        true
    }
}

struct Builder<'a> {
    data: &'a BinnedData,
    y: &'a [u32],
    w: &'a [u32],
    cfg: TreeConfig,
    idx: Vec<u32>,
    scratch: Vec<u32>,
    hist: Vec<u32>,
    sorted: Vec<(u16, u32, u32)>,
    perm: Vec<usize>,
    tree: GrownTree,
}

/// Grows one tree on the rows with a positive weight in `w`: each leaf holds
/// its `n_classes` class probabilities, and the importances are the total
/// weighted gini decrease per feature (unnormalised).
pub(crate) fn build_tree(
    data: &BinnedData,
    y: &[u32],
    w: &[u32],
    cfg: TreeConfig,
    rng: &mut ChaCha8Rng,
) -> GrownTree {
    let n_features = data.edges.len();
    let max_bins = (0..n_features).map(|f| data.n_bins(f)).max().unwrap_or(1);
    let idx: Vec<u32> = (0..data.n_rows as u32)
        .filter(|&i| w[i as usize] > 0)
        .collect();
    let mut b = Builder {
        data,
        y,
        w,
        cfg,
        scratch: Vec::with_capacity(idx.len()),
        idx,
        hist: vec![0; max_bins * (cfg.n_classes + 1)],
        sorted: Vec::new(),
        perm: (0..n_features).collect(),
        tree: GrownTree::new(n_features),
    };
    b.grow(rng);
    b.tree
}

impl Builder<'_> {
    fn grow(&mut self, rng: &mut ChaCha8Rng) {
        // (start, end, depth, parent node to patch with this node's index)
        let mut stack: Vec<(usize, usize, usize, Option<usize>)> =
            vec![(0, self.idx.len(), 0, None)];
        let c = self.cfg.n_classes;
        let mut counts = vec![0u64; c];
        while let Some((start, end, depth, parent)) = stack.pop() {
            let nodes = &mut self.tree.nodes;
            let node = nodes.n_nodes();
            if let Some(p) = parent {
                // children are pushed right first, so a parent's left child is
                // always created first
                if nodes.left[p] == 0 {
                    nodes.left[p] = node as u32;
                } else {
                    nodes.right[p] = node as u32;
                }
            }
            counts.iter_mut().for_each(|v| *v = 0);
            for &s in &self.idx[start..end] {
                counts[self.y[s as usize] as usize] += u64::from(self.w[s as usize]);
            }
            let rows = end - start;
            let pure = counts.iter().filter(|&&v| v > 0).count() <= 1;
            let split = if depth >= self.cfg.max_depth
                || rows < self.cfg.min_samples_split
                || rows < self.cfg.min_samples_leaf.saturating_mul(2)
                || pure
            {
                None
            } else {
                self.best_split(start, end, &counts, rng)
            };
            match split {
                None => {
                    let total: u64 = counts.iter().sum();
                    let nodes = &mut self.tree.nodes;
                    let leaf = (nodes.leaf_values.len() / c) as u32;
                    nodes
                        .leaf_values
                        .extend(counts.iter().map(|&v| v as f64 / total as f64));
                    nodes.push_node(LEAF, 0.0, leaf, 0);
                }
                Some(s) => {
                    self.tree.importances[s.feature] += s.proxy - node_term(&counts);
                    let threshold = self.data.threshold(s.feature, s.bin, s.next_bin);
                    (self.tree.nodes).push_node(s.feature as u32, threshold, 0, 0);
                    let mid = self.partition(start, end, s.feature, s.bin);
                    stack.push((mid, end, depth + 1, Some(node)));
                    stack.push((start, mid, depth + 1, Some(node)));
                }
            }
        }
    }

    /// Stable partition of `idx[start..end]`: rows with `bin <= split_bin` first.
    fn partition(&mut self, start: usize, end: usize, feature: usize, split_bin: u16) -> usize {
        let column = self.data.column(feature);
        self.scratch.clear();
        let mut write = start;
        for read in start..end {
            let s = self.idx[read];
            if column[s as usize] <= split_bin {
                self.idx[write] = s;
                write += 1;
            } else {
                self.scratch.push(s);
            }
        }
        self.idx[write..end].copy_from_slice(&self.scratch);
        write
    }

    /// Draws features without replacement until `max_features` non-constant
    /// ones have been examined (or all have been drawn), keeping the best split.
    fn best_split(
        &mut self,
        start: usize,
        end: usize,
        total: &[u64],
        rng: &mut ChaCha8Rng,
    ) -> Option<Split> {
        let d = self.perm.len();
        let sample = self.cfg.max_features < d;
        let mut best = None;
        let mut examined = 0;
        for k in 0..d {
            if sample {
                let j = rng.gen_range(k as u64..d as u64) as usize;
                self.perm.swap(k, j);
            }
            let f = self.perm[k];
            if self.scan_feature(start, end, f, total, &mut best) {
                examined += 1;
                if examined >= self.cfg.max_features {
                    break;
                }
            }
        }
        best
    }

    /// Scores every threshold of feature `f`; returns whether the feature is
    /// non-constant in the node.
    fn scan_feature(
        &mut self,
        start: usize,
        end: usize,
        f: usize,
        total: &[u64],
        best: &mut Option<Split>,
    ) -> bool {
        let nb = self.data.n_bins(f);
        if nb < 2 {
            return false;
        }
        let rows = end - start;
        let c = self.cfg.n_classes;
        let column = self.data.column(f);
        let mut scanner = Scanner::new(total, rows, self.cfg.min_samples_leaf);
        if rows * 2 < nb {
            // small node: sort its samples by bin instead of a wide histogram
            self.sorted.clear();
            for &s in &self.idx[start..end] {
                let s = s as usize;
                self.sorted.push((column[s], self.y[s], self.w[s]));
            }
            self.sorted.sort_unstable_by_key(|t| t.0);
            let mut i = 0;
            let mut group = vec![0u64; c];
            while i < self.sorted.len() {
                let bin = self.sorted[i].0;
                group.iter_mut().for_each(|v| *v = 0);
                let mut j = i;
                while j < self.sorted.len() && self.sorted[j].0 == bin {
                    group[self.sorted[j].1 as usize] += u64::from(self.sorted[j].2);
                    j += 1;
                }
                if !scanner.push(bin, group.iter().copied(), j - i, best, f) {
                    break;
                }
                i = j;
            }
        } else {
            let stride = c + 1;
            let hist = &mut self.hist[..nb * stride];
            hist.iter_mut().for_each(|v| *v = 0);
            for &s in &self.idx[start..end] {
                let s = s as usize;
                let base = column[s] as usize * stride;
                hist[base + self.y[s] as usize] += self.w[s];
                hist[base + c] += 1;
            }
            for (bin, h) in hist.chunks_exact(stride).enumerate() {
                let bin_rows = h[c] as usize;
                if bin_rows == 0 {
                    continue;
                }
                if !scanner.push(
                    bin as u16,
                    h[..c].iter().map(|&v| u64::from(v)),
                    bin_rows,
                    best,
                    f,
                ) {
                    break;
                }
            }
        }
        scanner.groups > 1
    }
}
