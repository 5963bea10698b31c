//! The split search of the gradient tree (`hist_tree.rs`): the scan scoring
//! every threshold of one feature with the L2-regularised Newton gain
//! `GL^2/(HL+l2) + GR^2/(HR+l2) - G^2/(H+l2)`.

use crate::hist_types::{Bin, GradConfig, Split};

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
