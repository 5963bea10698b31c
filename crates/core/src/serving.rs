//! What scoring a request needs, independent of HTTP: checking a JSON body against a model's
//! feature schema (errors name the field), loading a version for serving, and scoring a row.

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::model::{FeatureSchema, ModelBundle, Task};
use crate::store::ModelVersion;
use crate::table::steps::{Cell, Kind};
use serde_json::{json, Map, Value};

pub use crate::input_schema::MAX_BATCH;

/// A version loaded in memory, ready to answer.
#[derive(Debug)]
pub struct ServedModel {
    /// The registry record it was loaded from.
    pub version: ModelVersion,
    /// Model, preprocessing and schema.
    pub bundle: ModelBundle,
    /// When it was loaded.
    pub loaded_at: String,
}

/// The answer for one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// A classifier's answer.
    Class {
        /// Predicted class (1 = positive, e.g. churn).
        prediction: usize,
        /// Probability of the positive class.
        positive: f64,
    },
    /// A regressor's answer.
    Value(f64),
}

impl ServedModel {
    /// Load and hash-check a version's artifacts, then score one row of training medians so a
    /// model that cannot answer is refused before it is swapped in. Blocking.
    pub fn load(artifacts: &ArtifactStore, version: ModelVersion) -> Result<ServedModel> {
        check_servable(&version)?;
        let bundle = ModelBundle::load(artifacts, &version.artifacts)?;
        let served = ServedModel {
            version,
            bundle,
            loaded_at: crate::clock::now(),
        };
        let probe = served
            .bundle
            .schema
            .inputs
            .iter()
            .map(|(_, kind)| missing(*kind))
            .collect();
        let valid = match served.score(probe) {
            Score::Class { positive, .. } => (0.0..=1.0).contains(&positive),
            Score::Value(v) => v.is_finite(),
        };
        if !valid {
            return Err(Error::internal("warm-up prediction gave no valid answer"));
        }
        Ok(served)
    }

    /// Score one validated raw row (preprocessed here).
    pub fn score(&self, row: Vec<Cell>) -> Score {
        let value = self.bundle.score_cells(row);
        match self.bundle.schema.task {
            Task::Classification => Score::Class {
                prediction: usize::from(value > self.bundle.schema.threshold),
                positive: value,
            },
            Task::Regression => Score::Value(value),
        }
    }

    /// The answer's fields: `prediction`, plus `probability` and `risk_level` for a classifier.
    pub fn answer(&self, score: Score) -> Map<String, Value> {
        let mut answer = Map::new();
        match score {
            Score::Class {
                prediction,
                positive,
            } => {
                let classes = &self.bundle.schema.classes;
                answer.insert("prediction".into(), json!(prediction));
                answer.insert(
                    "probability".into(),
                    json!({classes[1].clone(): positive, classes[0].clone(): 1.0 - positive}),
                );
                answer.insert("risk_level".into(), json!(risk_level(positive)));
            }
            Score::Value(v) => {
                answer.insert("prediction".into(), json!(v));
            }
        }
        answer
    }
}

/// The missing value of a column kind.
pub fn missing(kind: Kind) -> Cell {
    match kind {
        Kind::Number => Cell::Number(f64::NAN),
        Kind::Text => Cell::Text(None),
    }
}

/// Risk band of a positive-class probability: High from 0.6, Medium from 0.3, else Low.
pub fn risk_level(probability: f64) -> &'static str {
    if probability >= 0.6 {
        "High"
    } else if probability >= 0.3 {
        "Medium"
    } else {
        "Low"
    }
}

pub use crate::input_schema::{type_name, InputSchema, ParsedRequest};

impl FeatureSchema {
    /// What a request to this model holds: the request fields, under their names.
    pub fn input_schema(&self) -> InputSchema {
        InputSchema::new(self.request_fields().cloned())
    }
}

/// Check a body against an ironmage model's schema: rows come back in
/// [`FeatureSchema::inputs`] order, the label cell missing, as [`ModelBundle::score_cells`]
/// takes them. Every error names its field (`monthly_charges`, or `[3].monthly_charges`).
pub fn parse_request(schema: &FeatureSchema, body: &Value) -> Result<ParsedRequest> {
    let mut parsed = schema.input_schema().parse(body)?;
    for row in &mut parsed.rows {
        *row = schema_order(schema, std::mem::take(row));
    }
    Ok(parsed)
}

/// A row of request fields, in order, as a row of the schema's inputs (the label missing).
pub fn schema_order(schema: &FeatureSchema, row: Vec<Cell>) -> Vec<Cell> {
    let mut fields = row.into_iter();
    schema
        .inputs
        .iter()
        .map(|(name, kind)| {
            if name == &schema.label {
                missing(*kind)
            } else {
                fields.next().unwrap_or_else(|| missing(*kind))
            }
        })
        .collect()
}

/// Refuse a version the prediction role cannot serve: one registered through MLflow holds
/// MLflow's files (an MLmodel folder), not an ironmage model bundle. The swapper records the
/// refusal and does not retry it until the next /reload or stage change.
pub fn check_servable(version: &crate::store::ModelVersion) -> Result<()> {
    match version.mlflow_source() {
        None => Ok(()),
        Some(s) => Err(crate::Error::unavailable(format!(
            "version {} of {:?} was registered through MLflow (source {}): the prediction service serves only models trained by ironmage pipelines; load it with mlflow.pyfunc.load_model(\"models:/{}/{}\")",
            version.version, version.model, s.source, version.model, version.version
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> FeatureSchema {
        FeatureSchema {
            inputs: vec![
                ("a".into(), Kind::Number),
                ("churn".into(), Kind::Number),
                ("b".into(), Kind::Number),
            ],
            features: vec!["a".into(), "b".into()],
            label: "churn".into(),
            task: Task::Classification,
            classes: vec!["no_churn".into(), "churn".into()],
            threshold: 0.5,
        }
    }

    fn numbers(cells: &[Cell]) -> Vec<f64> {
        cells
            .iter()
            .map(|c| match c {
                Cell::Number(v) => *v,
                Cell::Text(_) => -1.0,
            })
            .collect()
    }

    #[test]
    fn accepts_objects_and_batches_in_schema_order() {
        let one = parse_request(&schema(), &json!({"b": 2, "a": 1.5})).unwrap();
        assert!(!one.batch);
        let row = numbers(&one.rows[0]);
        assert_eq!((row[0], row[2]), (1.5, 2.0));
        assert!(row[1].is_nan(), "the label is not part of a request");
        let many = parse_request(&schema(), &json!([{"a": 1, "b": 2}, {"a": 3, "b": 4}])).unwrap();
        assert_eq!(many.rows.len(), 2);
        assert!(many.batch);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"a": 1}), "b", "missing"),
            (json!({"a": 1, "b": "x"}), "b", "expected a number"),
            (json!({"a": 1, "b": null}), "b", "expected a number"),
            (json!({"a": 1, "b": 2, "c": 3}), "c", "unknown feature"),
            (
                json!({"a": 1, "b": 2, "churn": 1}),
                "churn",
                "unknown feature",
            ),
            (
                json!([{"a": 1, "b": 2}, {"a": true, "b": 2}]),
                "[1].a",
                "expected a number",
            ),
            (json!([]), "body", "empty batch"),
            (json!("text"), "body", "expected a JSON object"),
            (json!([1]), "[0]", "expected an object"),
        ];
        for (body, field, message) in cases {
            let err = parse_request(&schema(), &body).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{body}");
            assert!(err.message.contains(message), "{body}: {}", err.message);
        }
    }

    #[test]
    fn risk_bands() {
        assert_eq!(risk_level(0.04), "Low");
        assert_eq!(risk_level(0.3), "Medium");
        assert_eq!(risk_level(0.65), "High");
    }
}

/// Parse a request body as JSON; a syntax error names the key it happened in when there is
/// one (`monthly_charges` for `{"monthly_charges": NaN}`).
pub fn parse_json_body(body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid_field(
            "body",
            "the body is empty: send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let offset = byte_offset(body, e.line(), e.column());
        let message = format!(
            "invalid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        );
        match last_key_before(&body[..offset.min(body.len())]) {
            Some(key) => Error::invalid_field(key, message),
            None => Error::invalid_field("body", message),
        }
    })
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    line_start + column
}

/// The last object key (a string followed by `:`) in `prefix`.
fn last_key_before(prefix: &[u8]) -> Option<String> {
    let mut key = None;
    let mut i = 0;
    while i < prefix.len() {
        if prefix[i] == b'"' {
            let start = i + 1;
            i += 1;
            while i < prefix.len() && prefix[i] != b'"' {
                i += if prefix[i] == b'\\' { 2 } else { 1 };
            }
            let end = i.min(prefix.len());
            let mut j = i + 1;
            while j < prefix.len() && prefix[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < prefix.len() && prefix[j] == b':' {
                key = std::str::from_utf8(&prefix[start..end])
                    .ok()
                    .map(str::to_string);
            }
        }
        i += 1;
    }
    key
}

#[cfg(test)]
mod body_tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_key() {
        let err = parse_json_body(br#"{"a": 1, "monthly_charges": NaN}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("monthly_charges"));
        let err = parse_json_body(b"{\"a\": 1,\n \"b\": 1e999}").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("b"));
        let err = parse_json_body(b"not json").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        let err = parse_json_body(b"  ").unwrap_err();
        assert!(err.message.contains("empty"));
    }
}

#[cfg(test)]
mod servable_tests {
    use super::*;
    use crate::store::{ArtifactRefs, Stage};

    fn version(lineage: Value) -> ModelVersion {
        ModelVersion {
            model: "churn".into(),
            version: 2,
            label: "v_1".into(),
            stage: Stage::Production,
            run_id: None,
            dataset_version: None,
            artifacts: ArtifactRefs {
                model: String::new(),
                scaler: String::new(),
                schema: String::new(),
            },
            metrics: Map::new(),
            hyperparameters: Map::new(),
            lineage,
            created_at: "2026-11-23T21:00:00.000Z".into(),
            gate_status: None,
            gate_reason: None,
        }
    }

    #[test]
    fn mlflow_versions_are_not_servable() {
        let mlflow =
            version(serde_json::json!({"mlflow": {"source": "models:/m-1", "model_id": "m-1"}}));
        let err = check_servable(&mlflow).unwrap_err();
        assert!(err.message.contains("registered through MLflow"), "{err}");
        assert!(err.message.contains("models:/m-1"), "{err}");
        assert!(check_servable(&version(serde_json::json!({"code": {}}))).is_ok());
    }
}
