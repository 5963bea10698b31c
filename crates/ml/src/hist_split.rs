//! The inner loops of the gradient tree (`hist_tree.rs`): per-bin gradient
//! statistics and how a node's rows add up into them, a node's total sums,
//! the stable partition of a node's rows, the best split found so far, and
//! the scan scoring every threshold of one feature with the L2-regularised
//! Newton gain `GL^2/(HL+l2) + GR^2/(HR+l2) - G^2/(H+l2)`.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::binning::BinnedData;
use super::hist_tree::GradConfig;

/// One row's gradient statistics: `(gradient, hessian)`, or the gradient
/// alone when every hessian is exactly 1 (squared error without weights),
/// which halves what the passes over a node read.
pub(crate) trait Grad: Copy + Default + Send + Sync {
    /// Whether the hessian is always 1: a sum of hessians is then a count.
    const UNIT: bool;
    fn g(self) -> f64;
    fn h(self) -> f64;
}

impl Grad for f64 {
    const UNIT: bool = true;
    fn g(self) -> f64 {
        self
    }
    fn h(self) -> f64 {
        1.0
    }
}

impl Grad for (f64, f64) {
    const UNIT: bool = false;
    fn g(self) -> f64 {
        self.0
    }
    fn h(self) -> f64 {
        self.1
    }
}

/// Gradient statistics of one bin.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bin {
    pub g: f64,
    pub h: f64,
    pub n: u32,
}

/// The best split so far: bins `..=bin` of `feature` go left; `next_bin` is
/// the next non-empty bin (for the threshold); `gl`, `hl` are the left sums.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    pub feature: usize,
    pub bin: u16,
    pub next_bin: u16,
    pub gain: f64,
    pub gl: f64,
    pub hl: f64,
}

/// Heap key `(gain, node, slot)`: largest gain first, then oldest node.
pub(crate) struct Key(pub f64, pub usize, pub usize);

impl PartialEq for Key {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
    }
}

/// Scores every threshold of feature `f`; returns whether it is
/// non-constant in the node.
pub(crate) fn scan(
    cfg: &GradConfig,
    f: usize,
    bins: impl Iterator<Item = (u16, Bin)>,
    (n, node_g, node_h): (usize, f64, f64),
    best: &mut Option<Split>,
) -> bool {
    let parent = node_g * node_g / (node_h + cfg.l2);
    let (mut gl, mut hl, mut nl, mut groups) = (0.0, 0.0, 0usize, 0usize);
    let mut pending = false;
    for (bin, b) in bins {
        if pending {
            if let Some(s) = best.as_mut() {
                s.next_bin = bin;
            }
            pending = false;
        }
        gl += b.g;
        hl += b.h;
        nl += b.n as usize;
        groups += 1;
        let nr = n - nl;
        if nr == 0 {
            break;
        }
        let (gr, hr) = (node_g - gl, node_h - hl);
        if nl >= cfg.min_samples_leaf
            && nr >= cfg.min_samples_leaf
            && hl >= cfg.min_hessian
            && hr >= cfg.min_hessian
        {
            let gain = gl * gl / (hl + cfg.l2) + gr * gr / (hr + cfg.l2) - parent;
            if best.is_none_or(|s| gain > s.gain) {
                *best = Some(Split {
                    feature: f,
                    bin,
                    next_bin: bin,
                    gain,
                    gl,
                    hl,
                });
                pending = true;
            }
        }
    }
    groups > 1
}

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

/// Stable partition of a node's `rows`: rows that `goes_left` first; returns
/// how many. The rows are cut in chunks, which with `parallel` are split at
/// once on every thread: each chunk's rows go into a left and a right run of
/// `scratch`, and the runs are copied back, lefts in chunk order then rights.
pub(crate) fn partition(
    rows: &mut [u32],
    goes_left: impl Fn(u32) -> bool + Sync,
    parallel: bool,
    scratch: &mut Vec<u32>,
) -> usize {
    const CHUNK: usize = 1 << 15;
    let parallel = parallel && rows.len() >= 2 * CHUNK;
    if scratch.len() < 2 * rows.len() {
        scratch.resize(2 * rows.len(), 0);
    }
    let chunk = if parallel { CHUNK } else { rows.len().max(1) };
    // each chunk gets twice its length of scratch: room for all its rows on either side
    let split = |(chunk, room)| split_chunk(chunk, room, &goes_left);
    let runs: Vec<(&[u32], &[u32])> = if parallel {
        let pairs = rows
            .par_chunks(chunk)
            .zip(scratch.par_chunks_mut(2 * chunk));
        pairs.map(split).collect()
    } else {
        let pairs = rows.chunks(chunk).zip(scratch.chunks_mut(2 * chunk));
        pairs.map(split).collect()
    };
    let n_left = runs.iter().map(|(l, _)| l.len()).sum();
    let mut free = rows;
    let mut copies = Vec::with_capacity(2 * runs.len());
    for run in runs.iter().map(|r| r.0).chain(runs.iter().map(|r| r.1)) {
        let (to, rest) = std::mem::take(&mut free).split_at_mut(run.len());
        copies.push((to, run));
        free = rest;
    }
    if parallel {
        copies
            .into_par_iter()
            .for_each(|(to, run)| to.copy_from_slice(run));
    } else {
        copies
            .into_iter()
            .for_each(|(to, run)| to.copy_from_slice(run));
    }
    n_left
}

/// Writes `chunk`'s rows into a left run at the start of `room` and a right
/// run after `chunk.len()` slots, both in order; returns the two runs.
fn split_chunk<'a>(
    chunk: &[u32],
    room: &'a mut [u32],
    goes_left: &impl Fn(u32) -> bool,
) -> (&'a [u32], &'a [u32]) {
    let (lefts, rights) = room.split_at_mut(chunk.len());
    let (mut l, mut r) = (0, 0);
    for &s in chunk {
        // written to both sides, only one cursor moves: no branch to mispredict
        let left = usize::from(goes_left(s));
        lefts[l] = s;
        rights[r] = s;
        l += left;
        r += 1 - left;
    }
    (&lefts[..l], &rights[..r])
}
