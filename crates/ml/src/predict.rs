//! Prediction with a fitted [`RandomForestClassifier`]: walks the packed
//! trees (`packed.rs`) several at once, without allocating for a single row.

use linfa::traits::PredictInplace;
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Data, Ix2};
use rayon::prelude::*;

use super::forest::RandomForestClassifier;
#[cfg(test)]
use super::tree::LEAF;

impl RandomForestClassifier {
    /// Leaf (row of `leaf_values`) reached by `row` from node `node`.
    /// `row` must have at least `n_features` values. (The plain walk, kept as
    /// the reference the lane-interleaved prediction is tested against.)
    #[cfg(test)]
    pub(super) fn leaf_of(&self, mut node: usize, row: &[f64]) -> usize {
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

    /// Writes the class probabilities of `row` into `out` without allocating
    /// (when `row` has at least `n_features` values). `out` should have length
    /// `n_classes`; only its first `min(out.len(), n_classes)` entries are
    /// written. Missing trailing features and NaN values go right at every split.
    pub fn predict_proba_row_into(&self, row: &[f64], out: &mut [f64]) {
        if row.len() < self.n_features {
            let mut padded = row.to_vec();
            padded.resize(self.n_features, f64::NAN);
            return self.predict_proba_row_into(&padded, out);
        }
        let c = self.n_classes;
        let len = c.min(out.len());
        let out = &mut out[..len];
        out.iter_mut().for_each(|v| *v = 0.0);
        let values = &self.leaf_values;
        self.packed.for_each_leaf(row, |leaf| {
            for (o, v) in out.iter_mut().zip(&values[leaf * c..leaf * c + c]) {
                *o += v;
            }
        });
        let n = self.roots.len() as f64;
        out.iter_mut().for_each(|v| *v /= n);
    }

    /// Class probabilities of one row (length `n_classes`): the mean over trees
    /// of the class frequencies in the leaf reached.
    pub fn predict_proba_row(&self, row: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n_classes];
        self.predict_proba_row_into(row, &mut out);
        out
    }

    /// Most probable class of one row (the lowest class on ties).
    pub fn predict_row(&self, row: &[f64]) -> usize {
        argmax(&self.predict_proba_row(row))
    }

    /// Class probabilities of every row of `x`, shape `(n_rows, n_classes)`,
    /// computed in parallel.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let c = self.n_classes;
        if c == 0 {
            return Array2::zeros((x.nrows(), 0));
        }
        let mut out = vec![0.0; x.nrows() * c];
        const ROWS_PER_TASK: usize = 64;
        out.par_chunks_mut(ROWS_PER_TASK * c)
            .enumerate()
            .for_each(|(chunk, block)| {
                let mut buf = Vec::new();
                for (k, o) in block.chunks_exact_mut(c).enumerate() {
                    let r = x.row(chunk * ROWS_PER_TASK + k);
                    match r.as_slice() {
                        Some(s) => self.predict_proba_row_into(s, o),
                        None => {
                            buf.clear();
                            buf.extend(r.iter().copied());
                            self.predict_proba_row_into(&buf, o);
                        }
                    }
                }
            });
        Array2::from_shape_vec((x.nrows(), c), out)
            .unwrap_or_else(|_| Array2::zeros((x.nrows(), c)))
    }
}

fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = k;
        }
    }
    best
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>>
    for RandomForestClassifier
{
    /// Predicts the most probable class of each row; `y` should have one entry
    /// per row (extra entries are left as they are).
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        let proba = self.predict_proba(x.view());
        for (t, p) in y.iter_mut().zip(proba.outer_iter()) {
            *t = p.as_slice().map_or(0, argmax);
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}
