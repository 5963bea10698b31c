//! The gradient statistics of a node of the gradient tree (`hist_tree.rs`):
//! per bin of one feature, and in total.

use rayon::prelude::*;

use crate::binning::BinnedData;
use crate::hist_types::{Bin, Grad};

/// The histogram of feature `f` over a node's `rows`, whose gradient
/// statistics `gh` are in row order (`in_place`: the rows are all the data's,
/// in order, so the column is read straight through).
pub(crate) fn feature_histogram<T: Grad>(
    data: &BinnedData,
    f: usize,
    rows: &[u32],
    in_place: bool,
    gh: &[T],
) -> Vec<Bin> {
    let mut out = vec![Bin::default(); data.n_bins(f)];
    let n = rows.len();
    match (data.narrow_column(f), in_place) {
        (Some(c), true) => accumulate(&mut out, n, |k| c[k].into(), gh),
        (Some(c), false) => accumulate(&mut out, n, |k| c[rows[k] as usize].into(), gh),
        (None, true) => {
            let c = data.column(f);
            accumulate(&mut out, n, |k| c[k], gh)
        }
        (None, false) => {
            let c = data.column(f);
            accumulate(&mut out, n, |k| c[rows[k] as usize], gh)
        }
    }
    out
}

/// Adds the statistics of each of the `n` rows to the bin `bin_of` gives for
/// it. With unit hessians only gradients are summed: a bin's hessian sum is
/// its count, exactly what summing the ones would give. (Spreading a
/// few-bin feature's rows over four copies of its histogram, so that runs of
/// one bin do not wait on each other, gained nothing measurable here.)
#[inline(always)]
fn accumulate<T: Grad>(out: &mut [Bin], n: usize, bin_of: impl Fn(usize) -> u16, gh: &[T]) {
    for (k, &x) in gh[..n].iter().enumerate() {
        let b = &mut out[usize::from(bin_of(k))];
        b.g += x.g();
        if !T::UNIT {
            b.h += x.h();
        }
        b.n += 1;
    }
    if T::UNIT {
        out.iter_mut().for_each(|b| b.h = f64::from(b.n));
    }
}

/// The sums of the gradients and hessians of a node's `rows`, in blocks of
/// four lanes (independent additions instead of one long chain), the blocks
/// summed in order: the same sums whatever the thread count.
pub(crate) fn node_sums<T: Grad>(gh: &[T], rows: &[u32], parallel: bool) -> (f64, f64) {
    const BLOCK: usize = 1 << 14;
    let block = |rows: &[u32]| {
        let (mut g, mut h) = ([0.0; 4], [0.0; 4]);
        for (k, &s) in rows.iter().enumerate() {
            let x = gh[s as usize];
            g[k % 4] += x.g();
            h[k % 4] += x.h();
        }
        ((g[0] + g[1]) + (g[2] + g[3]), (h[0] + h[1]) + (h[2] + h[3]))
    };
    let blocks: Vec<(f64, f64)> = if parallel {
        rows.par_chunks(BLOCK).map(block).collect()
    } else {
        rows.chunks(BLOCK).map(block).collect()
    };
    (blocks.iter()).fold((0.0, 0.0), |(g, h), &(a, b)| (g + a, h + b))
}
