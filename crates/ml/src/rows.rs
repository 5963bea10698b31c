//! The rows a fitted model scores: a short row padded to the model's width, and a
//! matrix scored in parallel.

use std::borrow::Cow;

use ndarray::ArrayView2;
use rayon::prelude::*;

/// Pads `row` with NaN (which goes right at every split) up to `d` values when
/// it is shorter.
pub(crate) fn padded(row: &[f64], d: usize) -> Cow<'_, [f64]> {
    if row.len() >= d {
        Cow::Borrowed(row)
    } else {
        let mut v = row.to_vec();
        v.resize(d, f64::NAN);
        Cow::Owned(v)
    }
}

/// Scores every row of `x` in parallel, 64 rows per task: `score` writes a
/// row's `width` outputs; they are returned row after row.
pub(crate) fn predict_rows(
    x: ArrayView2<'_, f64>,
    width: usize,
    score: impl Fn(&[f64], &mut [f64]) + Sync,
) -> Vec<f64> {
    const ROWS_PER_TASK: usize = 64;
    let mut out = vec![0.0; x.nrows() * width];
    if width == 0 {
        return out;
    }
    out.par_chunks_mut(ROWS_PER_TASK * width)
        .enumerate()
        .for_each(|(chunk, block)| {
            // a row that is not contiguous (a column-major matrix) is copied here first
            let mut buf = Vec::new();
            for (k, o) in block.chunks_exact_mut(width).enumerate() {
                let r = x.row(chunk * ROWS_PER_TASK + k);
                match r.as_slice() {
                    Some(s) => score(s, o),
                    None => {
                        buf.clear();
                        buf.extend(r.iter().copied());
                        score(&buf, o);
                    }
                }
            }
        });
    out
}
