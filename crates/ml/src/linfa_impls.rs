//! linfa trait implementations of the tree models and their parameter types,
//! so they stay linfa citizens. The dataset's sample weights, when it has any,
//! are used as sample weights (except by the classifier, which ignores them).

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, ArrayBase, Data, Ix2};

use crate::classifier::{argmax, RandomForestClassifier};
use crate::error::{MlError, Result};
use crate::forest_params::RandomForestParams;
use crate::gbdt_model::GradientBoostingModel;
use crate::gbdt_params::GradientBoostingParams;
use crate::regressor::RandomForestRegressor;

fn weights<R: linfa::dataset::Records, T>(d: &DatasetBase<R, T>) -> Option<Vec<f64>> {
    d.weights()
        .map(|w| w.iter().map(|&v| f64::from(v)).collect())
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<usize>, MlError> for RandomForestParams {
    type Object = RandomForestClassifier;

    /// Fits on a linfa dataset (sample weights of the dataset are ignored).
    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<usize>>,
    ) -> Result<RandomForestClassifier> {
        let y: Vec<usize> = dataset.targets.iter().copied().collect();
        RandomForestParams::fit(self, dataset.records.view(), &y)
    }
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<f64>, MlError> for RandomForestParams {
    type Object = RandomForestRegressor;

    /// Fits a regression forest on a linfa dataset with `f64` targets.
    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<f64>>,
    ) -> Result<RandomForestRegressor> {
        let y = dataset.targets.to_vec();
        self.fit_regressor(dataset.records.view(), &y, weights(dataset).as_deref())
    }
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<f64>, MlError> for GradientBoostingParams {
    type Object = GradientBoostingModel;

    /// Fits on a linfa dataset with `f64` targets (0/1 for log-loss).
    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<f64>>,
    ) -> Result<GradientBoostingModel> {
        let y = dataset.targets.to_vec();
        GradientBoostingParams::fit(
            self,
            dataset.records.view(),
            &y,
            weights(dataset).as_deref(),
        )
    }
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<usize>, MlError>
    for GradientBoostingParams
{
    type Object = GradientBoostingModel;

    /// Fits on a linfa dataset with class labels 0/1 (log-loss).
    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<usize>>,
    ) -> Result<GradientBoostingModel> {
        let y: Vec<f64> = dataset.targets.iter().map(|&v| v as f64).collect();
        GradientBoostingParams::fit(
            self,
            dataset.records.view(),
            &y,
            weights(dataset).as_deref(),
        )
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>>
    for RandomForestClassifier
{
    /// Predicts the most probable class of each row; `y` should have one entry
    /// per row (extra entries are left as they are).
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        let proba = self.predict_proba(x.view());
        for (t, p) in y.iter_mut().zip(proba.outer_iter()) {
            *t = p.as_slice().map_or(0, argmax);
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for RandomForestRegressor {
    /// Predicts every row; `y` should have one entry per row.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        for (t, p) in y.iter_mut().zip(self.predict(x.view())) {
            *t = p;
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for GradientBoostingModel {
    /// Predicts every row (value, or P(class 1) for log-loss); `y` should have
    /// one entry per row.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        for (t, p) in y.iter_mut().zip(self.predict(x.view())) {
            *t = p;
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
