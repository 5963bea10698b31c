//! Quantile binning of the training features, done once per fit.
//!
//! Each feature gets at most `n_bins` bins. Bin edges are real `f64` values
//! lying between two distinct training values, and a value `v` falls into bin
//! `b = #{edges e : e < v}`, so `bin(v) <= b` exactly when `v <= edges[b]`: a
//! split "bins `0..=b` go left" is the split `v <= edges[b]` on raw floats.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::{MlError, Result};

/// Largest supported number of bins per feature (bin indices are `u16`).
pub(crate) const MAX_BINS: usize = 1 << 16;

/// Binned training features, column-major.
#[derive(Debug, Clone)]
pub(crate) struct BinnedData {
    /// Number of rows.
    pub n_rows: usize,
    /// Bin index of row `i`, feature `f` at `bins[f * n_rows + i]`.
    pub bins: Vec<u16>,
    /// Per feature, the edges (thresholds) between consecutive bins; the
    /// feature has `edges.len() + 1` bins.
    pub edges: Vec<Vec<f64>>,
    /// Per feature and bin, the smallest and largest training value in it.
    pub ranges: Vec<Vec<(f64, f64)>>,
    /// `bins` in one byte each, or empty: see [`BinnedData::add_narrow`].
    pub narrow: Vec<u8>,
}

impl BinnedData {
    /// The bins of feature `f`, one per row.
    #[inline]
    pub fn column(&self, f: usize) -> &[u16] {
        &self.bins[f * self.n_rows..(f + 1) * self.n_rows]
    }

    /// Adds a one-byte copy of the bins when every feature has at most 256
    /// (the default 255): the gradient learner's passes over a node then read
    /// half the bytes. Only that learner reads it, so only it pays for it.
    pub fn add_narrow(&mut self) {
        if self.edges.iter().all(|e| e.len() < 256) {
            self.narrow = self.bins.iter().map(|&b| b as u8).collect();
        }
    }

    /// The bins of feature `f` in one byte each, when they were added.
    #[inline]
    pub fn narrow_column(&self, f: usize) -> Option<&[u8]> {
        self.narrow.get(f * self.n_rows..(f + 1) * self.n_rows)
    }

    /// Number of bins of feature `f`.
    #[inline]
    pub fn n_bins(&self, f: usize) -> usize {
        self.edges[f].len() + 1
    }

    /// The threshold of the split "bins `..=left` go left" on feature `f`,
    /// where `right` is the next bin holding a sample of the node: centred in
    /// the gap between the largest value of bin `left` and the smallest of
    /// bin `right` (with one value per bin, the midpoint of the two nearest
    /// node values, as scikit-learn does).
    pub fn threshold(&self, f: usize, left: u16, right: u16) -> f64 {
        let r = &self.ranges[f];
        midpoint(r[left as usize].1, r[right as usize].0)
    }
}

/// A threshold between `a < b`, `a <= m < b`, without overflow.
pub(crate) fn midpoint(a: f64, b: f64) -> f64 {
    let m = a * 0.5 + b * 0.5;
    if m >= a && m < b {
        m
    } else {
        a
    }
}

/// Bin edges of one feature from its values sorted ascending (all finite).
///
/// With at most `n_bins` distinct values every distinct value gets its own
/// bin; otherwise edges are placed where the cumulative count crosses the
/// multiples of `n / n_bins` (quantiles), always between distinct values.
pub(crate) fn edges_from_sorted(sorted: &[f64], n_bins: usize) -> Vec<f64> {
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &v in sorted {
        match distinct.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let mut edges = Vec::new();
    if distinct.len() <= n_bins {
        for pair in distinct.windows(2) {
            edges.push(midpoint(pair[0].0, pair[1].0));
        }
        return edges;
    }
    let n = sorted.len() as f64;
    let per_bin = n / n_bins as f64;
    let mut cumulative = 0usize;
    let mut next = 1usize;
    for pair in distinct.windows(2) {
        cumulative += pair[0].1;
        if cumulative as f64 >= next as f64 * per_bin {
            edges.push(midpoint(pair[0].0, pair[1].0));
            if edges.len() + 1 >= n_bins {
                break;
            }
            while next as f64 * per_bin <= cumulative as f64 {
                next += 1;
            }
        }
    }
    edges
}

/// Bins every feature of `x` (which must be finite) into at most `n_bins` bins.
pub(crate) fn bin_features(x: ArrayView2<'_, f64>, n_bins: usize) -> Result<BinnedData> {
    if !(2..=MAX_BINS).contains(&n_bins) {
        return Err(MlError::InvalidHyperparameter {
            name: "n_bins",
            reason: format!("must be in 2..={MAX_BINS}, got {n_bins}"),
        });
    }
    let n_rows = x.nrows();
    type FeatureBins = (Vec<f64>, Vec<u16>, Vec<(f64, f64)>);
    let per_feature: Vec<FeatureBins> = (0..x.ncols())
        .into_par_iter()
        .map(|f| {
            let column: Vec<f64> = x.column(f).iter().copied().collect();
            let mut sorted = column.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let edges = edges_from_sorted(&sorted, n_bins);
            let bins: Vec<u16> = column
                .iter()
                .map(|&v| edges.partition_point(|&e| e < v) as u16)
                .collect();
            let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); edges.len() + 1];
            for (&v, &b) in column.iter().zip(&bins) {
                let r = &mut ranges[b as usize];
                r.0 = r.0.min(v);
                r.1 = r.1.max(v);
            }
            (edges, bins, ranges)
        })
        .collect();
    let mut bins = Vec::with_capacity(n_rows * x.ncols());
    let mut edges = Vec::with_capacity(x.ncols());
    let mut ranges = Vec::with_capacity(x.ncols());
    for (e, b, r) in per_feature {
        edges.push(e);
        bins.extend_from_slice(&b);
        ranges.push(r);
    }
    Ok(BinnedData {
        n_rows,
        bins,
        edges,
        ranges,
        narrow: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn distinct_values_get_their_own_bins() {
        let x = Array2::from_shape_vec((5, 1), vec![3.0, 1.0, 2.0, 1.0, 3.0]).unwrap();
        let b = bin_features(x.view(), 255).unwrap();
        assert_eq!(b.edges[0], vec![1.5, 2.5]);
        assert_eq!(b.column(0), &[2, 0, 1, 0, 2]);
        assert_eq!(b.ranges[0], vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]);
        // a node holding only 1.0 and 3.0 splits half-way between them
        assert_eq!(b.threshold(0, 0, 2), 2.0);
        assert_eq!(b.threshold(0, 0, 1), 1.5);
    }

    #[test]
    fn quantile_edges_respect_the_bin_budget_and_order() {
        let sorted: Vec<f64> = (0..1000).map(|i| (i % 97) as f64).collect::<Vec<_>>();
        let mut s = sorted.clone();
        s.sort_unstable_by(f64::total_cmp);
        for n_bins in [2usize, 3, 10, 50, 96] {
            let e = edges_from_sorted(&s, n_bins);
            assert!(e.len() < n_bins, "{n_bins}: {} edges", e.len());
            assert!(!e.is_empty());
            assert!(e.windows(2).all(|w| w[0] < w[1]));
        }
        // roughly equal-frequency bins
        let e = edges_from_sorted(&s, 4);
        assert_eq!(e.len(), 3);
        for (k, edge) in e.iter().enumerate() {
            let below = s.iter().filter(|&&v| v <= *edge).count() as f64;
            assert!((below / 1000.0 - (k + 1) as f64 / 4.0).abs() < 0.02);
        }
    }

    #[test]
    fn thresholds_agree_with_bins() {
        let vals = [1e308, -1e308, 0.0, 1e-310, 2e-310, 5.0, 5.0];
        let x = Array2::from_shape_vec((vals.len(), 1), vals.to_vec()).unwrap();
        let b = bin_features(x.view(), 255).unwrap();
        for (i, &v) in vals.iter().enumerate() {
            let bin = b.column(0)[i] as usize;
            for (k, &e) in b.edges[0].iter().enumerate() {
                assert_eq!(bin <= k, v <= e);
                // any gap threshold also separates bins ..=k from k+1..
                for right in k + 1..b.n_bins(0) {
                    let t = b.threshold(0, k as u16, right as u16);
                    if bin <= k || bin >= right {
                        assert_eq!(bin <= k, v <= t);
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_bin_count_is_an_error() {
        let x = Array2::<f64>::zeros((3, 1));
        assert!(bin_features(x.view(), 1).is_err());
        assert!(bin_features(x.view(), MAX_BINS + 1).is_err());
    }
}
