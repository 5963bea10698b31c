//! ironmage's own model bundles (forests, boosting, linear models with their preprocessing).

use crate::scorer::{NativeScorer, Prediction, ScorerInfo};
use ironmage_core::input_schema::InputSchema;
use ironmage_core::model::{ModelBundle, Task};
use ironmage_core::serving::schema_order;
use ironmage_core::table::steps::Cell;
use ironmage_core::Result;
use serde_json::json;

impl BundleScorer {
    /// A scorer over a loaded bundle.
    pub fn new(bundle: ModelBundle) -> BundleScorer {
        let input = bundle.schema.input_schema();
        BundleScorer { bundle, input }
    }

    /// One row of request fields, scored as ironmage answers: for a classifier the predicted
    /// class index (1 above the threshold) and both probabilities.
    pub fn score_row(&self, row: Vec<Cell>) -> Prediction {
        let schema = &self.bundle.schema;
        let value = self.bundle.score_cells(schema_order(schema, row));
        match schema.task {
            Task::Classification => Prediction::Class {
                label: json!(usize::from(value > schema.threshold)),
                probabilities: vec![
                    (schema.classes[0].clone(), 1.0 - value),
                    (schema.classes[1].clone(), value),
                ],
            },
            Task::Regression => Prediction::Value(value),
        }
    }
}

impl NativeScorer for BundleScorer {
    fn input(&self) -> &InputSchema {
        &self.input
    }

    fn score_now(&self, rows: &[Vec<Cell>]) -> Result<Vec<Prediction>> {
        Ok(rows.iter().map(|r| self.score_row(r.clone())).collect())
    }

    fn describe(&self) -> ScorerInfo {
        let schema = &self.bundle.schema;
        ScorerInfo {
            flavor: "ironmage",
            native: true,
            task: Some(match schema.task {
                Task::Classification => "classification",
                Task::Regression => "regression",
            }),
            classes: schema.classes.clone(),
            details: json!({"threshold": schema.threshold, "features": schema.features}),
        }
    }
}

/// An ironmage bundle behind [`Scorer`](crate::Scorer).
pub struct BundleScorer {
    bundle: ModelBundle,
    input: InputSchema,
}
