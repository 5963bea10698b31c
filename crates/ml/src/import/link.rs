//! How an imported model turns its raw scores (one per tree group) into its
//! outputs: the inverse link of the objective it was trained with, computed
//! in the origin library's precision.

/// Raw scores `raw` (one per tree group) to the outputs `out`: one value for
/// a regressor, one probability per class for a classifier (a binary one
/// has one group and two outputs). With `f32` every step is rounded to f32
/// as XGBoost computes it; otherwise f64, as LightGBM does.
pub(crate) fn apply(link: Link, raw: &[f64], out: &mut [f64], f32: bool) {
    match link {
        Link::Identity => out[0] = raw[0],
        Link::Exp => {
            out[0] = if f32 {
                f64::from((raw[0] as f32).exp())
            } else {
                raw[0].exp()
            }
        }
        Link::SignedSquare => out[0] = raw[0].signum() * raw[0] * raw[0],
        Link::Sigmoid { scale } => out[0] = sigmoid(raw[0], scale, f32),
        Link::BinarySigmoid { scale } => {
            let p = sigmoid(raw[0], scale, f32);
            out[0] = 1.0 - p;
            out[1] = p;
        }
        Link::SigmoidEach { scale } => {
            for (o, &r) in out.iter_mut().zip(raw) {
                *o = sigmoid(r, scale, f32);
            }
        }
        Link::Softmax => softmax(raw, out, f32),
    }
}

fn sigmoid(x: f64, scale: f64, f32: bool) -> f64 {
    if f32 {
        let x = (x * scale) as f32;
        f64::from(1.0f32 / (1.0f32 + (-x).exp()))
    } else {
        1.0 / (1.0 + (-scale * x).exp())
    }
}

/// `exp(x - max) / sum`, in LightGBM's and XGBoost's order of operations.
fn softmax(raw: &[f64], out: &mut [f64], f32: bool) {
    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if f32 {
        let mut sum = 0.0f32;
        for (o, &r) in out.iter_mut().zip(raw) {
            let e = (r as f32 - max as f32).exp();
            sum += e;
            *o = f64::from(e);
        }
        for o in out.iter_mut() {
            *o = f64::from(*o as f32 / sum);
        }
    } else {
        let mut sum = 0.0;
        for (o, &r) in out.iter_mut().zip(raw) {
            *o = (r - max).exp();
            sum += *o;
        }
        for o in out.iter_mut() {
            *o /= sum;
        }
    }
}

/// The inverse link of an objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Link {
    /// The raw score itself (squared error and most regressions).
    Identity,
    /// `exp(raw)` (Poisson, gamma, Tweedie).
    Exp,
    /// `sign(raw) * raw²` (LightGBM's `reg_sqrt`).
    SignedSquare,
    /// `1 / (1 + exp(-scale * raw))` as the one output (cross-entropy
    /// regression, `reg:logistic`).
    Sigmoid { scale: f64 },
    /// The same as P(class 1) of a binary classifier: outputs `[1 - p, p]`.
    BinarySigmoid { scale: f64 },
    /// A sigmoid per class, not normalised (LightGBM's one-vs-all).
    SigmoidEach { scale: f64 },
    /// Softmax over the classes.
    Softmax,
}
