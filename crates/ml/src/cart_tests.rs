//! Agreement of the histogram learner with an exhaustive (brute-force) CART
//! written independently here: with one bin per distinct value, no bootstrap
//! and every feature examined, both must grow the very same tree.

use ndarray::ArrayView2;

use crate::forest_params::{MaxFeatures, RandomForestParams};
use crate::forest_tests::noisy_data;
use crate::metrics::accuracy;

/// Exhaustive CART over raw values; returns the leaf id of every sample.
struct BruteForce<'a> {
    x: ArrayView2<'a, f64>,
    y: &'a [usize],
    n_classes: usize,
    max_depth: usize,
    min_split: usize,
    min_leaf: usize,
    leaf_of: Vec<usize>,
    n_leaves: usize,
    /// (feature, threshold) of every node in pre-order; `None` for leaves.
    nodes: Vec<Option<(usize, f64)>>,
}

/// Midpoint of `a < b` as scikit-learn places thresholds (written out again here).
fn gap_midpoint(a: f64, b: f64) -> f64 {
    let m = a / 2.0 + b / 2.0;
    if a <= m && m < b {
        m
    } else {
        a
    }
}

impl BruteForce<'_> {
    fn counts(&self, s: &[usize]) -> Vec<u64> {
        let mut c = vec![0u64; self.n_classes];
        s.iter().for_each(|&i| c[self.y[i]] += 1);
        c
    }

    fn grow(&mut self, s: Vec<usize>, depth: usize) {
        let total = self.counts(&s);
        let pure = total.iter().filter(|&&v| v > 0).count() <= 1;
        let mut best: Option<(f64, usize, f64)> = None;
        if !(depth >= self.max_depth
            || s.len() < self.min_split
            || s.len() < 2 * self.min_leaf
            || pure)
        {
            for f in 0..self.x.ncols() {
                let mut vals: Vec<f64> = s.iter().map(|&i| self.x[[i, f]]).collect();
                vals.sort_by(f64::total_cmp);
                vals.dedup();
                for (k, &v) in vals[..vals.len() - 1].iter().enumerate() {
                    let left: Vec<usize> =
                        s.iter().copied().filter(|&i| self.x[[i, f]] <= v).collect();
                    if left.len() < self.min_leaf || s.len() - left.len() < self.min_leaf {
                        continue;
                    }
                    let lc = self.counts(&left);
                    let (mut sl, mut sr, mut wl, mut wr) = (0.0f64, 0.0f64, 0u64, 0u64);
                    for k in 0..self.n_classes {
                        let r = total[k] - lc[k];
                        sl += (lc[k] as f64) * (lc[k] as f64);
                        sr += (r as f64) * (r as f64);
                        wl += lc[k];
                        wr += r;
                    }
                    let proxy = sl / wl as f64 + sr / wr as f64;
                    if best.is_none_or(|b| proxy > b.0) {
                        best = Some((proxy, f, gap_midpoint(v, vals[k + 1])));
                    }
                }
            }
        }
        match best {
            None => {
                self.nodes.push(None);
                for &i in &s {
                    self.leaf_of[i] = self.n_leaves;
                }
                self.n_leaves += 1;
            }
            Some((_, f, v)) => {
                self.nodes.push(Some((f, v)));
                let (l, r): (Vec<usize>, Vec<usize>) =
                    s.iter().partition(|&&i| self.x[[i, f]] <= v);
                self.grow(l, depth + 1);
                self.grow(r, depth + 1);
            }
        }
    }
}

/// Relabels leaf ids by order of first appearance, so equal partitions compare equal.
fn canonical(ids: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    ids.iter()
        .map(|id| {
            let next = map.len();
            *map.entry(*id).or_insert(next)
        })
        .collect()
}

#[test]
fn single_tree_matches_brute_force_cart() {
    let cases = [
        (None, 2, 1, 1.0),    // fully grown, continuous features
        (Some(3), 2, 1, 1.0), // depth-limited
        (None, 10, 4, 1.0),   // min_samples_split / min_samples_leaf
        (None, 2, 1, 10.0),   // values rounded to tenths: many ties
        (Some(5), 4, 2, 4.0),
    ];
    for (case, &(max_depth, min_split, min_leaf, round)) in cases.iter().enumerate() {
        let (mut x, y3) = noisy_data(150, 4, 3.0, 10 + case as u64);
        if round > 1.0 {
            x.mapv_inplace(|v| (v * round).round() / round);
        }
        let y: Vec<usize> = y3
            .iter()
            .zip(x.outer_iter())
            .map(|(&c, r)| if r[3] > 0.8 { 2 } else { c })
            .collect();
        let params = RandomForestParams {
            n_estimators: 1,
            max_depth,
            min_samples_split: min_split,
            min_samples_leaf: min_leaf,
            max_features: MaxFeatures::All,
            bootstrap: false,
            n_bins: 255,
            ..Default::default()
        };
        let model = params.fit(x.view(), &y).unwrap();
        let mut bf = BruteForce {
            x: x.view(),
            y: &y,
            n_classes: 3,
            max_depth: max_depth.unwrap_or(usize::MAX),
            min_split,
            min_leaf,
            leaf_of: vec![0; y.len()],
            n_leaves: 0,
            nodes: Vec::new(),
        };
        bf.grow((0..y.len()).collect(), 0);
        let nodes = model.trees.nodes();
        let ours: Vec<usize> = x
            .outer_iter()
            .map(|r| nodes.leaf_of(0, r.as_slice().unwrap()))
            .collect();
        assert_eq!(
            canonical(&ours),
            canonical(&bf.leaf_of),
            "case {case}: partitions differ"
        );
        assert_eq!(nodes.leaf_values.len() / 3, bf.n_leaves, "case {case}");
        // the same tree: features and thresholds node by node, in pre-order
        let ours_nodes: Vec<Option<(usize, f64)>> = (0..model.n_nodes())
            .map(|i| {
                (nodes.feature[i] != u32::MAX)
                    .then(|| (nodes.feature[i] as usize, nodes.threshold[i]))
            })
            .collect();
        assert_eq!(ours_nodes, bf.nodes, "case {case}: trees differ");
        // same training accuracy as the majority vote of the brute-force leaves
        let pred: Vec<usize> = x
            .outer_iter()
            .map(|r| model.predict_row(r.as_slice().unwrap()))
            .collect();
        let mut bf_pred = vec![0; y.len()];
        for leaf in 0..bf.n_leaves {
            let members: Vec<usize> = (0..y.len()).filter(|&i| bf.leaf_of[i] == leaf).collect();
            let c = bf.counts(&members);
            let major = (0..3).fold(0, |b, k| if c[k] > c[b] { k } else { b });
            members.iter().for_each(|&i| bf_pred[i] = major);
        }
        assert_eq!(accuracy(&y, &pred), accuracy(&y, &bf_pred), "case {case}");
        if max_depth.is_none() && min_leaf == 1 && round == 1.0 {
            assert_eq!(
                accuracy(&y, &pred),
                1.0,
                "a fully grown tree fits distinct points"
            );
        }
    }
}
