//! Preprocessing: stratified train/test split, median imputation of missing
//! values (NaN), and standard scaling. Everything is deterministic and
//! serde-serializable, so a fitted transformer can be stored with its model.

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::input::check_finite;
use crate::rng::seeded_rng;

/// Splits row indices into (train, test), stratified by class like
/// scikit-learn's `train_test_split(stratify=y)`.
///
/// For each class, its indices are shuffled with a ChaCha8 RNG seeded from
/// `(seed, class)` and `round(test_size * n_class)` of them go to the test
/// set, clamped so that a class with at least 2 samples has at least one in
/// each part (a class with a single sample stays in train). Both lists are
/// returned sorted ascending. `test_size` must be in `(0, 1)`.
pub fn stratified_split(
    y: &[usize],
    test_size: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(MlError::InvalidArgument {
            name: "test_size",
            reason: format!("must be in (0, 1), got {test_size}"),
        });
    }
    if y.is_empty() {
        return Err(MlError::EmptyDataset);
    }
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &label) in y.iter().enumerate() {
        by_class.entry(label).or_default().push(i);
    }
    let mut train = Vec::with_capacity(y.len());
    let mut test = Vec::new();
    for (&label, indices) in by_class.iter_mut() {
        let n = indices.len();
        let mut rng = seeded_rng(seed, label as u64);
        // Fisher-Yates with u64 draws: identical on every platform
        for i in (1..n).rev() {
            let j = rng.gen_range(0..=i as u64) as usize;
            indices.swap(i, j);
        }
        let n_test = if n < 2 {
            0
        } else {
            ((test_size * n as f64).round() as usize).clamp(1, n - 1)
        };
        test.extend_from_slice(&indices[..n_test]);
        train.extend_from_slice(&indices[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

fn check_width(expected: usize, actual: usize) -> Result<()> {
    if expected != actual {
        return Err(MlError::MismatchedLengths {
            what: "columns vs fitted columns",
            expected,
            actual,
        });
    }
    Ok(())
}

/// Replaces missing values (NaN) by the training median of their column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedianImputer {
    /// Median of the non-missing training values of each column.
    pub medians: Vec<f64>,
}

impl MedianImputer {
    /// Fits the median of the non-NaN values of each column (the mean of the
    /// two middle values for an even count). Errors on an empty input, on an
    /// infinite value, and on a column with no non-NaN value.
    pub fn fit(x: ArrayView2<'_, f64>) -> Result<Self> {
        if x.nrows() == 0 {
            return Err(MlError::EmptyDataset);
        }
        let mut medians = Vec::with_capacity(x.ncols());
        for (column, values) in x.columns().into_iter().enumerate() {
            let mut v = Vec::with_capacity(values.len());
            for (row, &value) in values.iter().enumerate() {
                if value.is_infinite() {
                    return Err(MlError::NonFiniteValue { row, column });
                }
                if !value.is_nan() {
                    v.push(value);
                }
            }
            if v.is_empty() {
                return Err(MlError::EmptyColumn { column });
            }
            v.sort_unstable_by(f64::total_cmp);
            let m = v.len() / 2;
            medians.push(if v.len() % 2 == 1 {
                v[m]
            } else {
                v[m - 1] / 2.0 + v[m] / 2.0
            });
        }
        Ok(MedianImputer { medians })
    }

    /// Number of columns the imputer was fitted on.
    pub fn n_features(&self) -> usize {
        self.medians.len()
    }

    /// Errors unless `n_columns` is the fitted column count; call it once
    /// before the (infallible) transforms when the width is not known to match.
    pub fn check_columns(&self, n_columns: usize) -> Result<()> {
        check_width(self.medians.len(), n_columns)
    }

    /// Replaces the NaN values of `x` in place. Only the first
    /// `min(x.ncols(), n_features)` columns are touched (see
    /// [`MedianImputer::check_columns`]).
    pub fn transform_inplace(&self, x: &mut Array2<f64>) {
        for mut row in x.rows_mut() {
            for (v, &m) in row.iter_mut().zip(&self.medians) {
                if v.is_nan() {
                    *v = m;
                }
            }
        }
    }

    /// Replaces the NaN values of one row in place, without allocating. Only
    /// the first `min(row.len(), n_features)` values are touched.
    pub fn transform_row(&self, row: &mut [f64]) {
        for (v, &m) in row.iter_mut().zip(&self.medians) {
            if v.is_nan() {
                *v = m;
            }
        }
    }
}

/// Standardises columns to zero mean and unit variance: `(x - mean) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Training mean of each column.
    pub mean: Vec<f64>,
    /// Training population standard deviation of each column (1.0 for a
    /// constant column).
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Fits means and population standard deviations (ddof = 0, as
    /// scikit-learn). Every value must be finite (impute first).
    pub fn fit(x: ArrayView2<'_, f64>) -> Result<Self> {
        let n = x.nrows();
        if n == 0 {
            return Err(MlError::EmptyDataset);
        }
        check_finite(x)?;
        let mut mean = Vec::with_capacity(x.ncols());
        let mut scale = Vec::with_capacity(x.ncols());
        for values in x.columns() {
            let mut m = values.iter().sum::<f64>() / n as f64;
            if !m.is_finite() {
                // the sum overflowed: a running mean stays in range
                m = values
                    .iter()
                    .enumerate()
                    .fold(0.0, |acc, (k, v)| acc + (v - acc) / (k + 1) as f64);
            }
            let var = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64;
            // a constant column, up to rounding of the mean, is left unscaled
            let bound = (n as f64 * f64::EPSILON * m).powi(2);
            let std = var.sqrt();
            mean.push(m);
            scale.push(if var <= bound || std <= 0.0 || !std.is_finite() {
                1.0
            } else {
                std
            });
        }
        Ok(StandardScaler { mean, scale })
    }

    /// Number of columns the scaler was fitted on.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Errors unless `n_columns` is the fitted column count; call it once
    /// before the (infallible) transforms when the width is not known to match.
    pub fn check_columns(&self, n_columns: usize) -> Result<()> {
        check_width(self.mean.len(), n_columns)
    }

    /// Scales `x` in place. Only the first `min(x.ncols(), n_features)`
    /// columns are touched (see [`StandardScaler::check_columns`]); NaN stays NaN.
    pub fn transform_inplace(&self, x: &mut Array2<f64>) {
        for mut row in x.rows_mut() {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
    }

    /// Scales one row in place, without allocating. Only the first
    /// `min(row.len(), n_features)` values are touched.
    pub fn transform_row(&self, row: &mut [f64]) {
        for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
            *v = (*v - m) / s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn split_is_stratified_sorted_disjoint_and_deterministic() {
        // 70 of class 0, 30 of class 1, 3 of class 2, 1 of class 3
        let mut y = vec![0; 70];
        y.extend(vec![1; 30]);
        y.extend(vec![2; 3]);
        y.push(3);
        let (train, test) = stratified_split(&y, 0.2, 42).unwrap();
        let count = |idx: &[usize], c: usize| idx.iter().filter(|&&i| y[i] == c).count();
        assert_eq!(count(&test, 0), 14);
        assert_eq!(count(&test, 1), 6);
        assert_eq!(count(&test, 2), 1); // round(0.6) = 1
        assert_eq!(count(&test, 3), 0); // a single sample stays in train
        assert_eq!(train.len() + test.len(), y.len());
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        assert!(test.windows(2).all(|w| w[0] < w[1]));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..y.len()).collect::<Vec<_>>());
        assert_eq!(
            stratified_split(&y, 0.2, 42).unwrap(),
            (train.clone(), test.clone())
        );
        assert_ne!(stratified_split(&y, 0.2, 43).unwrap().1, test);
        // both parts get one sample of a 2-sample class even for extreme sizes
        let (tr, te) = stratified_split(&[5, 5], 0.01, 1).unwrap();
        assert_eq!((tr.len(), te.len()), (1, 1));
        let (tr, te) = stratified_split(&[5, 5], 0.99, 1).unwrap();
        assert_eq!((tr.len(), te.len()), (1, 1));
    }

    #[test]
    fn split_rejects_bad_arguments() {
        for t in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                stratified_split(&[0, 1], t, 0),
                Err(MlError::InvalidArgument { .. })
            ));
        }
        assert!(matches!(
            stratified_split(&[], 0.5, 0),
            Err(MlError::EmptyDataset)
        ));
    }

    #[test]
    fn imputer_by_hand() {
        let nan = f64::NAN;
        let x = array![
            [1.0, nan, 5.0],
            [nan, 2.0, 1.0],
            [3.0, 4.0, 3.0],
            [10.0, nan, 2.0]
        ];
        let imp = MedianImputer::fit(x.view()).unwrap();
        // col0 {1,3,10} -> 3; col1 {2,4} -> 3; col2 {5,1,3,2} -> 2.5
        assert_eq!(imp.medians, vec![3.0, 3.0, 2.5]);
        let mut t = x.clone();
        imp.transform_inplace(&mut t);
        assert_eq!(
            t,
            array![
                [1.0, 3.0, 5.0],
                [3.0, 2.0, 1.0],
                [3.0, 4.0, 3.0],
                [10.0, 3.0, 2.0]
            ]
        );
        let mut row = [nan, nan, 7.0];
        imp.transform_row(&mut row);
        assert_eq!(row, [3.0, 3.0, 7.0]);
        assert_eq!(imp.n_features(), 3);
        assert!(imp.check_columns(3).is_ok());
        assert!(matches!(
            imp.check_columns(2),
            Err(MlError::MismatchedLengths {
                expected: 3,
                actual: 2,
                ..
            })
        ));
        // a wrong width never panics: only the fitted columns are touched
        let mut short = [nan];
        imp.transform_row(&mut short);
        assert_eq!(short, [3.0]);
        let mut wide = Array2::from_elem((2, 4), nan);
        imp.transform_inplace(&mut wide);
        assert_eq!(wide[[1, 2]], 2.5);
        assert!(wide[[1, 3]].is_nan());
    }

    #[test]
    fn imputer_errors() {
        let nan = f64::NAN;
        let x = array![[1.0, nan], [2.0, nan]];
        assert!(matches!(
            MedianImputer::fit(x.view()),
            Err(MlError::EmptyColumn { column: 1 })
        ));
        let x = array![[1.0, 2.0], [f64::INFINITY, 1.0]];
        assert!(matches!(
            MedianImputer::fit(x.view()),
            Err(MlError::NonFiniteValue { row: 1, column: 0 })
        ));
        assert!(matches!(
            MedianImputer::fit(Array2::zeros((0, 2)).view()),
            Err(MlError::EmptyDataset)
        ));
    }

    #[test]
    fn scaler_by_hand() {
        let x = array![
            [1.0, 5.0, 0.1],
            [2.0, 5.0, 0.1],
            [3.0, 5.0, 0.1],
            [6.0, 5.0, 0.1]
        ];
        let s = StandardScaler::fit(x.view()).unwrap();
        // col0 mean 3, population var (4+1+0+9)/4 = 3.5
        assert_eq!(s.mean[0], 3.0);
        assert!((s.scale[0] - 3.5f64.sqrt()).abs() < 1e-15);
        assert_eq!(s.scale[1], 1.0);
        assert_eq!(s.scale[2], 1.0); // constant up to rounding of the mean
        let mut t = x.clone();
        s.transform_inplace(&mut t);
        assert!((t[[3, 0]] - 3.0 / 3.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(t[[0, 1]], 0.0);
        assert!(t[[0, 2]].abs() < 1e-15);
        let mut row = [3.0, 6.0, 0.1];
        s.transform_row(&mut row);
        assert_eq!(row[0], 0.0);
        assert_eq!(row[1], 1.0);
        assert!(s.check_columns(4).is_err());
        let mut wide = [3.0, 5.0, 0.1, 9.0];
        s.transform_row(&mut wide);
        assert_eq!(wide, [0.0, 0.0, 0.0, 9.0]);
        let bad = array![[1.0], [f64::NAN]];
        assert!(matches!(
            StandardScaler::fit(bad.view()),
            Err(MlError::NonFiniteValue { row: 1, column: 0 })
        ));
    }
}
