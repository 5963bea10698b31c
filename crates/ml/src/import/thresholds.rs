//! Thresholds of other libraries' comparisons, rewritten as the `x <= cut` on
//! f64 inputs that ironmage's walk takes, deciding exactly as the original.

/// The cut `c` with `x <= c` exactly when `(x as f32) < t`, for every non-NaN
/// f64 `x`: XGBoost stores its inputs as f32 and sends `x < t` left. `None`
/// for a NaN or -inf `t`, which no cut expresses.
///
/// `x as f32 < t` is `x as f32 <= p`, `p` the f32 just below `t`, which holds
/// for the f64 values below the midpoint of `p` and `t` (exact in f64), and at
/// the midpoint itself when rounding to even picks `p`.
pub(crate) fn f32_less_than(t: f32) -> Option<f64> {
    if t.is_nan() || t == f32::NEG_INFINITY {
        return None;
    }
    let p = f32_below(t);
    // the infinities stand for ±2^128, where rounding overflows to them
    let wide = |v: f32| {
        if v.is_infinite() {
            2f64.powi(128).copysign(f64::from(v))
        } else {
            f64::from(v)
        }
    };
    let mid = (wide(p) + wide(t)) / 2.0;
    let p_is_even = p.is_infinite() || p.to_bits() & 1 == 0;
    Some(if p_is_even { mid } else { f64_below(mid) })
}

/// The cut `c` with `x <= c` exactly when `snap(x) <= t`, where `snap` turns
/// `|x| <= band` into 0: LightGBM drops such values from a dense row before
/// predicting, so they reach the trees as 0.
pub(crate) fn snapped_at_most(t: f64, band: f64) -> f64 {
    if (-band..0.0).contains(&t) {
        // zero is above t: the whole band goes right
        f64_below(-band)
    } else if (0.0..band).contains(&t) {
        // zero is at most t: the whole band goes left
        band
    } else {
        t
    }
}

/// The largest f32 below `t` (not NaN, not -inf).
fn f32_below(t: f32) -> f32 {
    if t == 0.0 {
        return -f32::from_bits(1);
    }
    let bits = t.to_bits();
    f32::from_bits(if t > 0.0 { bits - 1 } else { bits + 1 })
}

/// The largest f64 below `t` (finite, not NaN).
pub(crate) fn f64_below(t: f64) -> f64 {
    if t == 0.0 {
        return -f64::from_bits(1);
    }
    let bits = t.to_bits();
    f64::from_bits(if t > 0.0 { bits - 1 } else { bits + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f64 values around `t` and around the midpoints next to it.
    fn probes(t: f32) -> Vec<f64> {
        let mut v = Vec::new();
        for c in [f64::from(t), f32_less_than(t).unwrap()] {
            let mut x = c;
            for _ in 0..3 {
                x = f64_below(x);
            }
            for _ in 0..7 {
                v.push(x);
                x = -f64_below(-x);
            }
        }
        v
    }

    #[test]
    fn strict_f32_comparisons_become_f64_cuts() {
        let ts = [
            0.5f32,
            -0.5,
            1.0,
            3.0,
            0.1,
            -0.1,
            0.0,
            -0.0,
            1e-40,
            -1e-40,
            f32::from_bits(1),
            f32::MAX,
            -f32::MAX,
            f32::INFINITY,
            1.000_000_1,
            16_777_216.0,
            16_777_218.0,
        ];
        for t in ts {
            let c = f32_less_than(t).unwrap();
            for x in probes(t) {
                assert_eq!((x as f32) < t, x <= c, "t = {t:e}, x = {x:e}, cut = {c:e}");
            }
        }
        for x in [
            1e300,
            -1e300,
            f64::INFINITY,
            -f64::INFINITY,
            3.5e38,
            -3.5e38,
        ] {
            for t in ts {
                let c = f32_less_than(t).unwrap();
                assert_eq!((x as f32) < t, x <= c, "t = {t:e}, x = {x:e}");
            }
        }
        assert_eq!(f32_less_than(f32::NAN), None);
        assert_eq!(f32_less_than(f32::NEG_INFINITY), None);
    }

    #[test]
    fn snapped_comparisons_become_cuts() {
        let band = f64::from(1e-35f32);
        let snap = |x: f64| if x.abs() <= band { 0.0 } else { x };
        let ts = [
            -1.0,
            -band,
            f64_below(-band),
            -1e-36,
            -0.0,
            0.0,
            1e-36,
            band,
            2e-35,
            1.0,
        ];
        for t in ts {
            let c = snapped_at_most(t, band);
            let mut xs = vec![0.0, -0.0, 1.0, -1.0];
            for p in [t, band, -band, 0.0] {
                xs.extend([f64_below(p), p, -f64_below(-p)]);
            }
            for x in xs {
                assert_eq!(snap(x) <= t, x <= c, "t = {t:e}, x = {x:e}");
            }
        }
    }
}
