//! Trainers: fit a model on the training part, score the test part. Shared by every learner:
//! which columns are features, the label, the metrics and the record handed downstream.

use super::output::{single_input, Output, Trained, TrainedModel};
use crate::error::{Error, Result};
use crate::ml::linear::LinearParams;
use crate::ml::{ClassificationMetrics, GbdtLoss, GradientBoostingParams, RandomForestParams};
use crate::model::{Model, Task};
use crate::pipeline::context::BlockContext;
use crate::table::Table;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What to fit.
#[derive(Debug, Clone)]
pub(super) enum Learner {
    ForestClassifier(RandomForestParams),
    ForestRegressor(RandomForestParams),
    /// Log-loss makes it a classifier, squared error a regressor.
    Boosting(GradientBoostingParams),
    Logistic(LinearParams),
    Linear(LinearParams),
}

/// Fields every trainer accepts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The label column (default: the one the loader named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Feature columns (default: every column but the label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

/// [`fit`] for a regressor whose config is shared with a classifier: the config is its
/// hyperparameters, without the classifier's `threshold`.
pub(super) async fn fit_regressor(
    ctx: &BlockContext,
    inputs: Vec<Output>,
    learner: Learner,
    columns: Columns,
    config: &impl Serialize,
) -> Result<Output> {
    let mut hyperparameters = serde_json::to_value(config)?;
    if let Value::Object(map) = &mut hyperparameters {
        map.remove("threshold");
    }
    fit(ctx, inputs, learner, columns, 0.5, hyperparameters).await
}

/// Fit `learner` on the single upstream dataset and log the test metrics.
pub(super) async fn fit(
    ctx: &BlockContext,
    inputs: Vec<Output>,
    learner: Learner,
    columns: Columns,
    threshold: f64,
    hyperparameters: Value,
) -> Result<Output> {
    let data = single_input!(inputs, Dataset);
    let trained = ctx
        .blocking(move || {
            let label = data.label_or(columns.target.as_ref())?;
            let features = columns.features.clone().unwrap_or_else(|| {
                data.train
                    .names()
                    .into_iter()
                    .filter(|n| n != &label)
                    .collect()
            });
            let test = data.test.as_ref().ok_or_else(|| {
                Error::invalid(
                    "the data has no test part: add a split (or preprocess) block upstream",
                )
            })?;
            let x_train = features_of(&data.train, &features)?;
            let x_test = features_of(test, &features)?;
            let (model, task, metrics) = match &learner {
                Learner::ForestClassifier(params) => {
                    let y = data.train.class_labels(&label)?;
                    let forest = params.fit(x_train.view(), &y)?;
                    two_classes(forest.n_classes())?;
                    let model = Model::ForestClassifier(forest);
                    let metrics = classify(&model, test, &label, &x_test, threshold)?;
                    (model, Task::Classification, metrics)
                }
                Learner::Logistic(params) => {
                    let y = data.train.class_labels(&label)?;
                    let model = Model::Logistic(params.fit_logistic(x_train.view(), &y)?);
                    let metrics = classify(&model, test, &label, &x_test, threshold)?;
                    (model, Task::Classification, metrics)
                }
                Learner::ForestRegressor(params) => {
                    let y = data.train.targets(&label)?;
                    let model =
                        Model::ForestRegressor(params.fit_regressor(x_train.view(), &y, None)?);
                    let metrics = regress(&model, test, &label, &x_test)?;
                    (model, Task::Regression, metrics)
                }
                Learner::Boosting(params) if params.loss == GbdtLoss::LogLoss => {
                    let labels = data.train.class_labels(&label)?;
                    two_classes(labels.iter().max().map_or(0, |&c| c + 1))?;
                    let y: Vec<f64> = labels.iter().map(|&c| c as f64).collect();
                    let model = Model::Boosting(params.fit(x_train.view(), &y, None)?);
                    let metrics = classify(&model, test, &label, &x_test, threshold)?;
                    (model, Task::Classification, metrics)
                }
                Learner::Boosting(params) => {
                    let y = data.train.targets(&label)?;
                    let model = Model::Boosting(params.fit(x_train.view(), &y, None)?);
                    let metrics = regress(&model, test, &label, &x_test)?;
                    (model, Task::Regression, metrics)
                }
                Learner::Linear(params) => {
                    let y = data.train.targets(&label)?;
                    let model = Model::Linear(params.fit_linear(x_train.view(), &y)?);
                    let metrics = regress(&model, test, &label, &x_test)?;
                    (model, Task::Regression, metrics)
                }
            };
            let mut feature_importance: Vec<(String, f64)> =
                features.iter().cloned().zip(importances(&model)).collect();
            feature_importance.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut metrics = metrics;
            metrics.insert("training_samples".into(), json!(data.train.rows()));
            metrics.insert("test_samples".into(), json!(test.rows()));
            let importance: Map<String, Value> = feature_importance
                .iter()
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect();
            metrics.insert("feature_importance".into(), Value::Object(importance));
            let hyperparameters = match hyperparameters {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            Ok(Trained {
                data,
                model: TrainedModel::Native(Box::new(model)),
                task,
                label,
                features,
                threshold,
                hyperparameters,
                metrics,
                feature_importance,
                evaluation: None,
            })
        })
        .await?;
    ctx.log("✅ Model trained successfully!");
    ctx.log(format!(
        "   Trained on {} samples, tested on {}",
        trained.metrics["training_samples"], trained.metrics["test_samples"]
    ));
    for (name, value) in &trained.metrics {
        if let Some(v) = value.as_f64().filter(|_| !name.ends_with("samples")) {
            ctx.log(format!("   {}: {v:.4}", display_name(name)));
        }
    }
    let top: Vec<&str> = trained
        .feature_importance
        .iter()
        .take(3)
        .map(|(n, _)| n.as_str())
        .collect();
    ctx.log(format!("   Top 3 features: [{}]", top.join(", ")));
    log_to_run(ctx, &trained).await?;
    Ok(Output::Trained(Arc::new(trained)))
}

/// Log a trained model's hyperparameters (as params) and metrics to the run's tracking run,
/// as every trainer does, the built-in ones and Python blocks that return a model.
pub(super) async fn log_to_run(ctx: &BlockContext, trained: &Trained) -> Result<()> {
    // The data's fingerprint is a param of the run, as seed 002's scripts log it, so runs can
    // be searched by the data they trained on (`params.dataset_hash = '…'`).
    let data_params = trained.data.record.iter().flat_map(|r| {
        [
            ("dataset_hash".to_string(), json!(r.hash)),
            ("dataset_version".to_string(), json!(r.version)),
        ]
    });
    // One training block logs plain keys (`auc_score`), as an MLflow script does. With several
    // in a pipeline, each logs under its block's name (`tree.auc_score`): a param keeps its
    // first value, so a second trainer's `max_depth` would be refused and fail its block.
    let trainers = ctx.pipeline.blocks.iter().filter(|b| b.trains).count();
    let prefix = if trainers > 1 {
        format!("{}.", ctx.block_name())
    } else {
        String::new()
    };
    let mut params = trained.hyperparameters.clone();
    params.extend(data_params);
    ctx.services
        .tracking
        .log_training(
            &ctx.run_id,
            &prefix,
            &params,
            &Value::Object(trained.metrics.clone()),
        )
        .await
}

/// The binary classifiers need both classes, and only two, among the training labels.
fn two_classes(n_classes: usize) -> Result<()> {
    if n_classes != 2 {
        return Err(Error::invalid(format!(
            "a binary classifier needs both classes (0 and 1) in the training part, found {n_classes} class(es)"
        )));
    }
    Ok(())
}

/// `auc_score` → `AUC Score`, as the demo's log shows it.
fn display_name(metric: &str) -> String {
    match metric {
        "auc_score" => "AUC Score".into(),
        "f1_score" => "F1".into(),
        "rmse" | "mae" | "rmspe" => metric.to_uppercase(),
        "r2" => "R²".into(),
        other => {
            let mut s = other.replace('_', " ");
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s
        }
    }
}

fn features_of(table: &Table, features: &[String]) -> Result<ndarray::Array2<f64>> {
    let x = table
        .matrix(features)
        .map_err(|e| e.with_field("features"))?;
    for (c, name) in features.iter().enumerate() {
        if x.column(c).iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid_field(
                "features",
                format!("column {name:?} has missing values: add an impute block upstream"),
            ));
        }
    }
    Ok(x)
}

fn predictions(model: &Model, x: &ndarray::Array2<f64>) -> Vec<f64> {
    x.rows()
        .into_iter()
        .map(|r| model.score_row(&r.to_vec()))
        .collect()
}

fn classify(
    model: &Model,
    test: &Table,
    label: &str,
    x: &ndarray::Array2<f64>,
    threshold: f64,
) -> Result<Map<String, Value>> {
    let y = test.class_labels(label)?;
    let metrics = ClassificationMetrics::compute(&y, &predictions(model, x), threshold)?;
    match serde_json::to_value(metrics)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn regress(
    model: &Model,
    test: &Table,
    label: &str,
    x: &ndarray::Array2<f64>,
) -> Result<Map<String, Value>> {
    let y = test.targets(label)?;
    let m = regression_metrics(&y, &predictions(model, x));
    Ok(m.into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect())
}

/// `rmse`, `mae`, `r2`, and `rmspe` (over the rows whose target is not 0, as Rossmann scores it).
pub fn regression_metrics(y: &[f64], pred: &[f64]) -> Vec<(&'static str, f64)> {
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let sse: f64 = y.iter().zip(pred).map(|(a, b)| (a - b).powi(2)).sum();
    let sst: f64 = y.iter().map(|a| (a - mean).powi(2)).sum();
    let mae = y.iter().zip(pred).map(|(a, b)| (a - b).abs()).sum::<f64>() / n;
    let pct: Vec<f64> = y
        .iter()
        .zip(pred)
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, b)| ((a - b) / a).powi(2))
        .collect();
    let rmspe = (pct.iter().sum::<f64>() / pct.len().max(1) as f64).sqrt();
    vec![
        ("rmse", (sse / n).sqrt()),
        ("mae", mae),
        ("r2", if sst > 0.0 { 1.0 - sse / sst } else { 0.0 }),
        ("rmspe", rmspe),
    ]
}

/// Tree importances (impurity for forests, gain for boosting); for a linear model, the absolute weights normalised to sum to 1
/// (features are comparable once scaled).
fn importances(model: &Model) -> Vec<f64> {
    let raw: Vec<f64> = match model {
        Model::ForestClassifier(m) => return m.feature_importances(),
        Model::ForestRegressor(m) => return m.feature_importances(),
        Model::Boosting(m) => return m.feature_importances(),
        Model::Logistic(m) => m.weights.iter().map(|w| w.abs()).collect(),
        Model::Linear(m) => m.weights.iter().map(|w| w.abs()).collect(),
    };
    let total: f64 = raw.iter().sum();
    raw.iter()
        .map(|w| if total > 0.0 { w / total } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_by_hand() {
        let m = regression_metrics(&[100.0, 200.0, 0.0], &[110.0, 180.0, 5.0]);
        let get = |k| m.iter().find(|(n, _)| *n == k).unwrap().1;
        assert!((get("mae") - 35.0 / 3.0).abs() < 1e-9);
        assert!((get("rmse") - ((100.0 + 400.0 + 25.0) / 3.0f64).sqrt()).abs() < 1e-9);
        assert!((get("rmspe") - ((0.01 + 0.01) / 2.0f64).sqrt()).abs() < 1e-9);
        assert!(get("r2") > 0.9);
    }
}
