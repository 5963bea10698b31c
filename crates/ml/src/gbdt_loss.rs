//! The losses gradient boosting optimises: their gradients and hessians, and
//! the link from a raw score to a prediction.

use serde::{Deserialize, Serialize};

/// Loss optimised by gradient boosting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GbdtLoss {
    /// Squared error (regression); predictions are raw scores.
    SquaredError,
    /// Binary log-loss; targets 0 or 1, predictions are P(class 1).
    LogLoss,
}

/// The logistic function: the probability of class 1 at log-odds `z`.
#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The gradient and hessian of `loss` with respect to the raw score.
#[inline]
pub(crate) fn grad_hess(loss: GbdtLoss, raw: f64, y: f64) -> (f64, f64) {
    match loss {
        GbdtLoss::SquaredError => (raw - y, 1.0),
        GbdtLoss::LogLoss => {
            let p = sigmoid(raw);
            (p - y, (p * (1.0 - p)).max(1e-16))
        }
    }
}

/// The loss of one row.
#[inline]
pub(crate) fn point_loss(loss: GbdtLoss, raw: f64, y: f64) -> f64 {
    match loss {
        GbdtLoss::SquaredError => 0.5 * (raw - y) * (raw - y),
        // log(1 + e^raw) - y * raw, computed stably
        GbdtLoss::LogLoss => raw.max(0.0) + (-raw.abs()).exp().ln_1p() - y * raw,
    }
}
