//! ONNX models behind [`Scorer`](crate::Scorer), scored by tract in this process.

use crate::numeric_input::flatten;
use crate::onnx::{Labels, OnnxModel, OnnxOutput};
use crate::scorer::{NativeScorer, Prediction, ScorerInfo};
use ironmage_core::input_schema::InputSchema;
use ironmage_core::table::steps::Cell;
use ironmage_core::{Error, Result};
use serde_json::{json, Value};

impl OnnxScorer {
    /// A scorer over a loaded ONNX model, taking requests of `input`'s columns.
    pub fn new(model: OnnxModel, input: InputSchema) -> OnnxScorer {
        let classes = match model.class_labels() {
            Some(Labels::Int64(v)) => v.iter().map(i64::to_string).collect(),
            Some(Labels::Strings(v)) => v.clone(),
            None => Vec::new(),
        };
        OnnxScorer {
            model,
            input,
            classes,
        }
    }
}

fn label_value(labels: &Labels, row: usize) -> Value {
    match labels {
        Labels::Int64(v) => json!(v[row]),
        Labels::Strings(v) => json!(v[row]),
    }
}

impl NativeScorer for OnnxScorer {
    fn input(&self) -> &InputSchema {
        &self.input
    }

    fn score_now(&self, rows: &[Vec<Cell>]) -> Result<Vec<Prediction>> {
        let flat = flatten(rows, self.model.n_features());
        let output = self
            .model
            .predict(&flat, rows.len())
            .map_err(|e| Error::internal(format!("scoring failed: {e}")))?;
        Ok(match output {
            OnnxOutput::Regression { values } => {
                values.into_iter().map(Prediction::Value).collect()
            }
            OnnxOutput::Classification {
                labels,
                probabilities,
            } => (0..rows.len())
                .map(|r| Prediction::Class {
                    label: label_value(&labels, r),
                    probabilities: probabilities
                        .as_ref()
                        .map(|p| {
                            self.classes
                                .iter()
                                .cloned()
                                .zip(p.row(r).iter().copied())
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        })
    }

    fn describe(&self) -> ScorerInfo {
        ScorerInfo {
            flavor: "onnx",
            native: true,
            task: Some(if self.model.is_classifier() {
                "classification"
            } else {
                "regression"
            }),
            classes: self.classes.clone(),
            details: json!({"input": self.model.input_name(), "features": self.model.n_features()}),
        }
    }
}

/// An ONNX model behind [`Scorer`](crate::Scorer).
pub struct OnnxScorer {
    model: OnnxModel,
    input: InputSchema,
    classes: Vec<String>,
}
