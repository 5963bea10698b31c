//! `preprocess`: stratified split, median imputation and standard scaling, fitted on the
//! training part only so nothing of the test part leaks into training.

use super::{single_input, Output, VersionedDataset};
use crate::error::{Error, Result};
use crate::ml::{stratified_split, MedianImputer, StandardScaler};
use crate::pipeline::engine::BlockContext;
use ndarray::Array2;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Share of rows held out for evaluation.
    #[serde(default = "default_test_size")]
    pub test_size: f64,
    /// Seed of the split.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_test_size() -> f64 {
    0.2
}
fn default_seed() -> u64 {
    42
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        if !(self.test_size > 0.0 && self.test_size < 1.0) {
            return Err(Error::invalid_field(
                "test_size",
                "must be strictly between 0 and 1",
            ));
        }
        Ok(())
    }
}

/// Matrices ready for training, with the fitted preprocessing.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Prepared {
    /// The dataset they came from.
    pub dataset: Arc<VersionedDataset>,
    /// Training features, imputed and scaled.
    pub x_train: Array2<f64>,
    /// Training labels.
    pub y_train: Vec<usize>,
    /// Test features, imputed and scaled with the training statistics.
    pub x_test: Array2<f64>,
    /// Test labels.
    pub y_test: Vec<usize>,
    /// Medians of the training part.
    pub imputer: MedianImputer,
    /// Means and scales of the training part.
    pub scaler: StandardScaler,
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let dataset = single_input!(inputs, Dataset);
    let source = dataset.clone();
    let prepared = ctx
        .blocking(move || {
            let data = &source.data;
            let (train, test) = stratified_split(&data.labels, config.test_size, config.seed)?;
            let train_part = data.select_rows(&train);
            let test_part = data.select_rows(&test);
            let (mut x_train, mut x_test) = (train_part.features, test_part.features);
            let imputer = MedianImputer::fit(x_train.view())?;
            imputer.transform_inplace(&mut x_train);
            imputer.transform_inplace(&mut x_test);
            let scaler = StandardScaler::fit(x_train.view())?;
            scaler.transform_inplace(&mut x_train);
            scaler.transform_inplace(&mut x_test);
            Ok(Prepared {
                dataset: source.clone(),
                x_train,
                y_train: train_part.labels,
                x_test,
                y_test: test_part.labels,
                imputer,
                scaler,
            })
        })
        .await?;
    let missing: usize = dataset.data.missing_counts().iter().sum();
    ctx.log(format!(
        "✅ Split {} rows into {} train / {} test (stratified, seed {})",
        dataset.data.rows(),
        prepared.y_train.len(),
        prepared.y_test.len(),
        config.seed
    ));
    ctx.log(format!(
        "   Imputed {missing} missing values with training medians"
    ));
    ctx.log("   Scaled features with a StandardScaler fitted on the training part");
    Ok(Output::Prepared(Arc::new(prepared)))
}

impl Prepared {
    pub(super) fn preview(&self) -> Value {
        let names = &self.dataset.data.feature_names;
        let scaler: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"name": n, "median": self.imputer.medians[i], "mean": self.scaler.mean[i], "scale": self.scaler.scale[i]}))
            .collect();
        let rate =
            |y: &[usize]| y.iter().filter(|&&v| v == 1).count() as f64 / y.len().max(1) as f64;
        json!({
            "schema": scaler,
            "stats": {
                "train_rows": self.y_train.len(),
                "test_rows": self.y_test.len(),
                "train_label_rate": rate(&self.y_train),
                "test_label_rate": rate(&self.y_test),
            }
        })
    }
}
