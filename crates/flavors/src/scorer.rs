//! The one interface every loaded model answers through, whatever trained it.

use futures::future::{BoxFuture, FutureExt};
use ironmage_core::input_schema::InputSchema;
use ironmage_core::serving::risk_level;
use ironmage_core::table::steps::Cell;
use ironmage_core::Result;
use serde_json::{json, Map, Value};

/// A loaded model. Native scorers answer at once (the future is ready); the Python scorer
/// queues the rows for its worker pool.
pub trait Scorer: Send + Sync {
    /// The columns a request must hold, in the order rows are given to [`Scorer::score`].
    fn input(&self) -> &InputSchema;

    /// Score rows of cells in [`Scorer::input`] order: one prediction per row, in order. An
    /// error the input caused (a Python model raising on it) is `invalid_input`; a broken
    /// model or worker is `unavailable` or `internal`.
    fn score(&self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<Vec<Prediction>>>;

    /// What it is, for `/models/{name}` and health answers.
    fn describe(&self) -> ScorerInfo;

    /// Memory it holds outside this process, asked now (a Python model's workers); `None` for
    /// a model that lives in this process, whose memory the loader measures.
    fn external_memory_bytes(&self) -> Option<u64> {
        None
    }
}

/// A scorer that answers at once, in this process (ironmage bundles, ONNX, LightGBM, XGBoost):
/// it scores synchronously and is a [`Scorer`] through the blanket impl below.
pub trait NativeScorer: Send + Sync {
    /// As [`Scorer::input`].
    fn input(&self) -> &InputSchema;
    /// Score rows of cells in input order.
    fn score_now(&self, rows: &[Vec<Cell>]) -> Result<Vec<Prediction>>;
    /// As [`Scorer::describe`].
    fn describe(&self) -> ScorerInfo;
}

impl<T: NativeScorer> Scorer for T {
    fn input(&self) -> &InputSchema {
        NativeScorer::input(self)
    }

    fn score(&self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<Vec<Prediction>>> {
        futures::future::ready(self.score_now(&rows)).boxed()
    }

    fn describe(&self) -> ScorerInfo {
        NativeScorer::describe(self)
    }
}

impl Prediction {
    /// The answer's fields: `prediction`, plus `probability` (one entry per class) and, for a
    /// two-class model, `risk_level` of the second class, as ironmage's own models answer.
    pub fn answer(&self) -> Map<String, Value> {
        let mut answer = Map::new();
        match self {
            Prediction::Class {
                label,
                probabilities,
            } => {
                answer.insert("prediction".into(), label.clone());
                if !probabilities.is_empty() {
                    let by_class: Map<String, Value> = probabilities
                        .iter()
                        .map(|(class, p)| (class.clone(), json!(p)))
                        .collect();
                    answer.insert("probability".into(), Value::Object(by_class));
                }
                if let [_, (_, positive)] = probabilities.as_slice() {
                    answer.insert("risk_level".into(), json!(risk_level(*positive)));
                }
            }
            Prediction::Value(v) => {
                answer.insert("prediction".into(), json!(v));
            }
            Prediction::Json(v) => {
                answer.insert("prediction".into(), v.clone());
            }
        }
        answer
    }
}

/// A classifier's answer from per-class probabilities: the most probable class (the first on
/// a tie, as numpy's argmax picks).
pub fn class_of(labels: &[String], label_values: &[Value], probabilities: &[f64]) -> Prediction {
    let mut best = 0;
    for (i, p) in probabilities.iter().enumerate() {
        if *p > probabilities[best] {
            best = i;
        }
    }
    Prediction::Class {
        label: label_values.get(best).cloned().unwrap_or(Value::Null),
        probabilities: labels
            .iter()
            .cloned()
            .zip(probabilities.iter().copied())
            .collect(),
    }
}

/// One row's prediction.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// A classifier: the predicted label (a number or a string, as the model's classes are) and
    /// each class's probability, in the model's class order (empty when it gives none).
    Class {
        /// The predicted class.
        label: Value,
        /// `(class, probability)`, in class order.
        probabilities: Vec<(String, f64)>,
    },
    /// A regressor's value.
    Value(f64),
    /// Whatever a Python model returned for the row.
    Json(Value),
}

/// What a scorer is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScorerInfo {
    /// `ironmage`, `onnx`, `lightgbm`, `xgboost` or `python_function`.
    pub flavor: &'static str,
    /// Whether it runs in this process (no Python at serving time).
    pub native: bool,
    /// `classification`, `regression`, or `null` when the model does not say (a pyfunc).
    pub task: Option<&'static str>,
    /// Class names, in probability order, for a classifier.
    pub classes: Vec<String>,
    /// Flavor-specific facts (the Python interpreter and requirements, an objective).
    pub details: Value,
}
