//! Linear models: ridge-regularised least squares (normal equations) and L2-regularised
//! logistic regression (Newton / IRLS). Both solve small dense systems with our own Cholesky
//! factorisation, so there is no BLAS dependency and the same data gives the same bits.
//! The intercept is never penalised.

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::input::check_finite;

/// Hyperparameters shared by both linear models.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearParams {
    /// L2 penalty on the weights (not the intercept).
    pub l2: f64,
    /// Most Newton iterations (logistic regression only).
    pub max_iter: usize,
    /// Stop when the largest weight change is below this (logistic regression only).
    pub tol: f64,
}

impl Default for LinearParams {
    fn default() -> Self {
        LinearParams {
            l2: 1.0,
            max_iter: 100,
            tol: 1e-8,
        }
    }
}

impl LinearParams {
    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(MlError::InvalidArgument {
                name: "l2",
                reason: format!("must be a finite number >= 0, got {}", self.l2),
            });
        }
        if self.max_iter == 0 {
            return Err(MlError::InvalidArgument {
                name: "max_iter",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(MlError::InvalidArgument {
                name: "tol",
                reason: format!("must be > 0, got {}", self.tol),
            });
        }
        Ok(())
    }

    /// Least squares with an L2 penalty: solve `(XᵀX + λI) w = Xᵀy` on the centred data.
    pub fn fit_linear(&self, x: ArrayView2<'_, f64>, y: &[f64]) -> Result<LinearRegression> {
        self.validate()?;
        check_shape(x, y.len())?;
        let (n, p) = x.dim();
        let x_mean: Vec<f64> = (0..p).map(|j| x.column(j).sum() / n as f64).collect();
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let mut a = Array2::<f64>::zeros((p, p));
        let mut b = vec![0.0; p];
        for (r, row) in x.rows().into_iter().enumerate() {
            let centred: Vec<f64> = row.iter().zip(&x_mean).map(|(v, m)| v - m).collect();
            for i in 0..p {
                b[i] += centred[i] * (y[r] - y_mean);
                for j in 0..=i {
                    a[[i, j]] += centred[i] * centred[j];
                }
            }
        }
        for i in 0..p {
            a[[i, i]] += self.l2.max(1e-10);
        }
        let weights = solve_spd(a, b)?;
        let intercept = y_mean - weights.iter().zip(&x_mean).map(|(w, m)| w * m).sum::<f64>();
        Ok(LinearRegression { weights, intercept })
    }

    /// Logistic regression with an L2 penalty, by Newton's method on the penalised log-loss.
    pub fn fit_logistic(&self, x: ArrayView2<'_, f64>, y: &[usize]) -> Result<LogisticRegression> {
        self.validate()?;
        check_shape(x, y.len())?;
        if let Some(&bad) = y.iter().find(|&&v| v > 1) {
            return Err(MlError::InvalidArgument {
                name: "y",
                reason: format!("logistic regression takes classes 0 and 1, got {bad}"),
            });
        }
        let (n, p) = x.dim();
        // Parameter 0 is the intercept, 1..=p the weights.
        let mut theta = vec![0.0; p + 1];
        for _ in 0..self.max_iter {
            let mut hessian = Array2::<f64>::zeros((p + 1, p + 1));
            let mut gradient = vec![0.0; p + 1];
            for (r, row) in x.rows().into_iter().enumerate() {
                let z = theta[0] + row.iter().zip(&theta[1..]).map(|(v, w)| v * w).sum::<f64>();
                let prob = sigmoid(z);
                let weight = (prob * (1.0 - prob)).max(1e-12);
                let residual = prob - y[r] as f64;
                let feature = |i: usize| if i == 0 { 1.0 } else { row[i - 1] };
                for i in 0..=p {
                    gradient[i] += residual * feature(i);
                    for j in 0..=i {
                        hessian[[i, j]] += weight * feature(i) * feature(j);
                    }
                }
            }
            for i in 1..=p {
                gradient[i] += self.l2 * theta[i];
                hessian[[i, i]] += self.l2;
            }
            hessian[[0, 0]] += 1e-10 * n as f64;
            let step = solve_spd(hessian, gradient)?;
            let mut largest = 0.0f64;
            for (t, s) in theta.iter_mut().zip(&step) {
                *t -= s;
                largest = largest.max(s.abs());
            }
            if largest < self.tol {
                break;
            }
        }
        Ok(LogisticRegression {
            intercept: theta[0],
            weights: theta[1..].to_vec(),
        })
    }
}

fn check_shape(x: ArrayView2<'_, f64>, labels: usize) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(MlError::EmptyDataset);
    }
    if x.nrows() != labels {
        return Err(MlError::InvalidArgument {
            name: "y",
            reason: format!("{labels} targets for {} rows", x.nrows()),
        });
    }
    check_finite(x)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Solve `a x = b` for a symmetric positive definite `a` of which the lower triangle is filled.
fn solve_spd(mut a: Array2<f64>, mut b: Vec<f64>) -> Result<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let mut d = a[[j, j]];
        for k in 0..j {
            d -= a[[j, k]] * a[[j, k]];
        }
        if !(d > 0.0 && d.is_finite()) {
            return Err(MlError::InvalidArgument {
                name: "x",
                reason: "the system is singular: add an l2 penalty".into(),
            });
        }
        let d = d.sqrt();
        a[[j, j]] = d;
        for i in j + 1..n {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= a[[i, k]] * a[[j, k]];
            }
            a[[i, j]] = s / d;
        }
    }
    for i in 0..n {
        let s: f64 = (0..i).map(|k| a[[i, k]] * b[k]).sum();
        b[i] = (b[i] - s) / a[[i, i]];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[[k, i]] * b[k]).sum();
        b[i] = (b[i] - s) / a[[i, i]];
    }
    Ok(b)
}

/// A fitted linear regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearRegression {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl LinearRegression {
    /// Predict one row.
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.intercept
            + row
                .iter()
                .zip(&self.weights)
                .map(|(v, w)| v * w)
                .sum::<f64>()
    }
}

/// A fitted binary logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl LogisticRegression {
    /// Probability of class 1 for one row.
    pub fn predict_proba_row(&self, row: &[f64]) -> f64 {
        sigmoid(
            self.intercept
                + row
                    .iter()
                    .zip(&self.weights)
                    .map(|(v, w)| v * w)
                    .sum::<f64>(),
        )
    }
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<f64>, MlError> for LinearParams {
    type Object = LinearRegression;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<f64>>,
    ) -> Result<LinearRegression> {
        self.fit_linear(dataset.records.view(), &dataset.targets.to_vec())
    }
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<usize>, MlError> for LinearParams {
    type Object = LogisticRegression;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<usize>>,
    ) -> Result<LogisticRegression> {
        self.fit_logistic(dataset.records.view(), &dataset.targets.to_vec())
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for LinearRegression {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        for (out, row) in y.iter_mut().zip(x.rows()) {
            *out = self.predict_row(&row.to_vec());
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for LogisticRegression {
    /// Probabilities of class 1.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        for (out, row) in y.iter_mut().zip(x.rows()) {
            *out = self.predict_proba_row(&row.to_vec());
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::array;

    #[test]
    fn linear_regression_recovers_a_line() {
        let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 5.0], [4.0, 2.0]];
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| 3.0 + 2.0 * r[0] - 1.0 * r[1])
            .collect();
        let params = LinearParams {
            l2: 0.0,
            ..LinearParams::default()
        };
        let model = params.fit_linear(x.view(), &y).unwrap();
        assert!((model.intercept - 3.0).abs() < 1e-6, "{model:?}");
        assert!((model.weights[0] - 2.0).abs() < 1e-6 && (model.weights[1] + 1.0).abs() < 1e-6);
        let via_linfa: LinearRegression = params
            .fit(&DatasetBase::new(x.clone(), Array1::from(y)))
            .unwrap();
        assert_eq!(via_linfa, model);
        let pred: Array1<f64> = via_linfa.predict(&x);
        assert!((pred[3] - (3.0 + 6.0 - 5.0)).abs() < 1e-6);
    }

    #[test]
    fn logistic_regression_separates_and_is_deterministic() {
        let x = array![[-2.0], [-1.5], [-1.0], [-0.2], [0.3], [1.0], [1.5], [2.0]];
        let y = vec![0, 0, 0, 1, 0, 1, 1, 1];
        let params = LinearParams {
            l2: 0.1,
            ..LinearParams::default()
        };
        let a = params.fit_logistic(x.view(), &y).unwrap();
        let b = params.fit_logistic(x.view(), &y).unwrap();
        assert_eq!(a, b);
        assert!(a.weights[0] > 0.5);
        assert!(a.predict_proba_row(&[2.0]) > 0.8 && a.predict_proba_row(&[-2.0]) < 0.2);
        assert!(params
            .fit_logistic(x.view(), &[0, 2, 0, 0, 0, 0, 0, 0])
            .is_err());
        assert!(LinearParams { l2: -1.0, ..params }.validate().is_err());
    }
}
