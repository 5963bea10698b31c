//! The stable partition of a node's rows when the gradient tree
//! (`hist_tree.rs`) splits it, in parallel chunks for large nodes.

use rayon::prelude::*;

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
