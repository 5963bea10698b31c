//! LightGBM and XGBoost models, read from the library's own file into ironmage's packed tree
//! evaluator and scored in Rust.

use crate::numeric_input::flatten;
use crate::scorer::{class_of, NativeScorer, Prediction, ScorerInfo};
use ironmage_core::input_schema::InputSchema;
use ironmage_core::ml::import::{ImportedModel, Origin, Task};
use ironmage_core::table::steps::Cell;
use ironmage_core::{Error, Result};
use serde_json::{json, Value};

impl TreeScorer {
    /// A scorer over an imported model, taking requests of `input`'s columns.
    pub fn new(model: ImportedModel, input: InputSchema) -> TreeScorer {
        let n_classes = match model.task() {
            Task::Classification { n_classes } => n_classes,
            Task::Regression => 0,
        };
        TreeScorer {
            model,
            input,
            classes: (0..n_classes).map(|c| c.to_string()).collect(),
            class_values: (0..n_classes).map(|c| json!(c)).collect(),
        }
    }
}

impl NativeScorer for TreeScorer {
    fn input(&self) -> &InputSchema {
        &self.input
    }

    fn score_now(&self, rows: &[Vec<Cell>]) -> Result<Vec<Prediction>> {
        let width = self.model.n_outputs();
        let flat = flatten(rows, self.model.n_features());
        let mut out = vec![0.0; rows.len() * width];
        self.model
            .predict_into(&flat, &mut out)
            .map_err(|e| Error::internal(format!("scoring failed: {e}")))?;
        Ok(out
            .chunks(width)
            .map(|values| match self.model.task() {
                Task::Regression => Prediction::Value(values[0]),
                Task::Classification { .. } => class_of(&self.classes, &self.class_values, values),
            })
            .collect())
    }

    fn describe(&self) -> ScorerInfo {
        ScorerInfo {
            flavor: match self.model.origin() {
                Origin::LightGbm => "lightgbm",
                Origin::XgBoost => "xgboost",
            },
            native: true,
            task: Some(match self.model.task() {
                Task::Regression => "regression",
                Task::Classification { .. } => "classification",
            }),
            classes: self.classes.clone(),
            details: json!({"objective": self.model.objective(), "trees": self.model.n_trees()}),
        }
    }
}

/// An imported tree model behind [`Scorer`](crate::Scorer). Classes are the class indices, as the libraries'
/// scikit-learn wrappers number them.
pub struct TreeScorer {
    model: ImportedModel,
    input: InputSchema,
    classes: Vec<String>,
    class_values: Vec<Value>,
}
