//! Checks of what a fit is given: finite values, matching lengths, usable weights.

use ndarray::ArrayView2;

use crate::error::{MlError, Result};

/// Largest feature count of the regression forest and boosting models: it bounds
/// the padding a short row gets at predict time, also for a model read from an
/// artifact that stores no importances.
pub(crate) const MAX_FEATURES: usize = 1 << 24;

/// Checks that every value of `x` is finite, naming the first offending cell.
pub(crate) fn check_finite(x: ArrayView2<'_, f64>) -> Result<()> {
    for (row, values) in x.outer_iter().enumerate() {
        for (column, v) in values.iter().enumerate() {
            if !v.is_finite() {
                return Err(MlError::NonFiniteValue { row, column });
            }
        }
    }
    Ok(())
}

/// Checks `x`, a target and optional sample weights for a regression fit,
/// returning the weights (all ones when none are given).
pub(crate) fn check_regression_input(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>> {
    let (n, d) = x.dim();
    if n == 0 {
        return Err(MlError::EmptyDataset);
    }
    if d == 0 {
        return Err(MlError::NoFeatures);
    }
    if n >= u32::MAX as usize || d > MAX_FEATURES {
        return Err(MlError::TooLarge(format!("{n} rows x {d} columns")));
    }
    if y.len() != n {
        return Err(MlError::MismatchedLengths {
            what: "targets vs rows",
            expected: n,
            actual: y.len(),
        });
    }
    check_finite(x)?;
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(MlError::NonFiniteValue { row, column: d });
    }
    let w = match sample_weight {
        None => vec![1.0; n],
        Some(w) => {
            if w.len() != n {
                return Err(MlError::MismatchedLengths {
                    what: "sample weights vs rows",
                    expected: n,
                    actual: w.len(),
                });
            }
            if w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
                return Err(MlError::InvalidArgument {
                    name: "sample_weight",
                    reason: "weights must be finite, non-negative, with a positive sum".into(),
                });
            }
            w.to_vec()
        }
    };
    Ok(w)
}
