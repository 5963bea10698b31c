//! ONNX models converted from scikit-learn by skl2onnx, scored with tract, against scikit-learn's
//! own predictions (tests/python/make_onnx_models.py writes both).

use std::path::{Path, PathBuf};

use ironmage_flavors::onnx::{InputType, Labels, OnnxError, OnnxModel, OnnxOutput};
use serde_json::Value;

use crate::common::python::script_output;

/// The models are float32: their scores agree with scikit-learn's float64 ones to this much.
const TOLERANCE: f64 = 1e-5;

fn models() -> Option<PathBuf> {
    script_output("make_onnx_models.py", &[])
}

fn load(dir: &Path, name: &str) -> Result<OnnxModel, OnnxError> {
    let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).expect("read model");
    OnnxModel::load(&bytes)
}

fn cases(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("cases.json")).expect("read cases.json");
    serde_json::from_str::<Value>(&text)
        .expect("parse cases.json")
        .as_array()
        .unwrap()
        .clone()
}

fn labels_of(values: &[Value]) -> Labels {
    if values.iter().all(Value::is_i64) {
        Labels::Int64(values.iter().map(|v| v.as_i64().unwrap()).collect())
    } else {
        Labels::Strings(
            values
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
        )
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Checks one case, returning what differs from scikit-learn.
fn check_case(dir: &Path, case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let model = load(dir, name).map_err(|e| format!("load: {e}"))?;
    let n_features = case["n_features"].as_u64().unwrap() as usize;
    let rows: Vec<Vec<f64>> = case["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(floats)
        .collect();
    let flat: Vec<f64> = rows.concat();
    if model.n_features() != n_features || model.input_name() != "input" {
        return Err(format!(
            "input {} x {}",
            model.input_name(),
            model.n_features()
        ));
    }
    let output = model
        .predict(&flat, rows.len())
        .map_err(|e| format!("predict: {e}"))?;
    match case["kind"].as_str().unwrap() {
        "classifier" => {
            let classes = labels_of(case["classes"].as_array().unwrap());
            if model.class_labels() != Some(&classes) {
                return Err(format!(
                    "classes {:?}, expected {classes:?}",
                    model.class_labels()
                ));
            }
            let expected = labels_of(case["labels"].as_array().unwrap());
            let labels = output.labels().ok_or("no labels")?;
            if labels != &expected {
                return Err(format!("labels {labels:?}\n expected {expected:?}"));
            }
            let expected: Vec<f64> = case["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(floats)
                .collect();
            let probabilities = output.probabilities().ok_or("no probabilities")?;
            if probabilities.n_classes != classes.len() {
                return Err(format!("{} probability columns", probabilities.n_classes));
            }
            let diff = max_diff(&probabilities.values, &expected);
            if diff > TOLERANCE {
                return Err(format!("probabilities differ by up to {diff:e}"));
            }
        }
        _ => {
            let expected = floats(&case["values"]);
            let values = output.values().ok_or("no values")?;
            let diff = max_diff(values, &expected);
            if diff > TOLERANCE {
                return Err(format!("values differ by up to {diff:e}"));
            }
        }
    }
    // One row at a time gives the same as the batch.
    for (i, row) in rows.iter().enumerate().step_by(7) {
        let one = model
            .predict(row, 1)
            .map_err(|e| format!("predict row {i}: {e}"))?;
        let same = match (&one, &output) {
            (OnnxOutput::Regression { values: a }, OnnxOutput::Regression { values: b }) => {
                max_diff(a, &b[i..=i]) < 1e-6
            }
            _ => {
                let n = one.probabilities().map_or(0, |p| p.n_classes);
                let row_p = output
                    .probabilities()
                    .map(|p| p.row(i).to_vec())
                    .unwrap_or_default();
                let one_p = one
                    .probabilities()
                    .map(|p| p.values.clone())
                    .unwrap_or_default();
                one_p.len() == n && max_diff(&one_p, &row_p) < 1e-6
            }
        };
        if !same {
            return Err(format!("row {i} alone scores {one:?}"));
        }
    }
    Ok(())
}

#[test]
fn sklearn_models_score_as_in_sklearn() {
    let Some(dir) = models() else { return };
    let cases = cases(&dir);
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let name = case["name"].as_str().unwrap();
            check_case(&dir, case).err().map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn zipmap_classifiers_expose_the_probability_tensor() {
    let Some(dir) = models() else { return };
    let with = load(&dir, "rf_multiclass_strings_zipmap").unwrap();
    let without = load(&dir, "rf_multiclass_strings").unwrap();
    assert_eq!(
        with.class_labels(),
        Some(&Labels::Strings(vec![
            "bird".into(),
            "cat".into(),
            "dog".into()
        ]))
    );
    let rows = vec![0.5; 2 * with.n_features()];
    assert_eq!(
        with.predict(&rows, 2).unwrap(),
        without.predict(&rows, 2).unwrap()
    );
}

#[test]
fn double_inputs_are_scored_in_f64() {
    let Some(dir) = models() else { return };
    let model = load(&dir, "double_linear_regression").unwrap();
    assert_eq!(model.input_type(), InputType::F64);
    assert!(!model.is_classifier());
    assert_eq!(model.class_labels(), None);
}

#[test]
fn a_model_with_two_inputs_is_refused() {
    let Some(dir) = models() else { return };
    let err = load(&dir, "refused_two_inputs").unwrap_err();
    assert!(matches!(err, OnnxError::InputCount { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("2 inputs (a, b)"), "{message}");
}

#[test]
fn an_operator_tract_lacks_is_named() {
    let Some(dir) = models() else { return };
    let err = load(&dir, "refused_svm").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, OnnxError::UnsupportedOps(_)), "{err:?}");
    assert!(message.contains("SVMClassifier (ai.onnx.ml"), "{message}");
}

#[test]
fn corrupt_files_are_errors() {
    assert!(matches!(OnnxModel::load(b""), Err(OnnxError::Decode(_))));
    assert!(OnnxModel::load(b"this is not an ONNX model at all \xff\xfe\x00\x01").is_err());
    let Some(dir) = models() else { return };
    let bytes = std::fs::read(dir.join("rf_multiclass.onnx")).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 3, 40] {
        let err = OnnxModel::load(&bytes[..cut]).unwrap_err();
        assert!(matches!(err, OnnxError::Decode(_)), "cut at {cut}: {err:?}");
    }
    let mut flipped = bytes.clone();
    for b in flipped.iter_mut().skip(10).step_by(97) {
        *b ^= 0x5a;
    }
    assert!(OnnxModel::load(&flipped).is_err());
}

#[test]
fn rows_of_the_wrong_width_are_errors() {
    let Some(dir) = models() else { return };
    let model = load(&dir, "gb_multiclass").unwrap();
    let n = model.n_features();
    for (len, n_rows) in [
        (n - 1, 1),
        (n + 1, 1),
        (2 * n, 1),
        (n, 2),
        (0, 1),
        (n, usize::MAX),
    ] {
        let rows = vec![0.0; len];
        let err = model.predict(&rows, n_rows).unwrap_err();
        assert!(
            matches!(err, OnnxError::RowWidth { .. }),
            "{len} values, {n_rows} rows: {err}"
        );
    }
    let empty = model.predict(&[], 0).unwrap();
    assert_eq!(empty.labels().map(Labels::len), Some(0));
}

#[test]
fn many_threads_score_one_model_at_once() {
    let Some(dir) = models() else { return };
    let model = load(&dir, "pipeline_scaler_rf_zipmap").unwrap();
    let n = model.n_features();
    let rows: Vec<f64> = (0..50 * n)
        .map(|i| ((i * 37) % 101) as f64 / 25.0 - 2.0)
        .collect();
    let expected = model.predict(&rows, 50).unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(model.predict(&rows, 50).unwrap(), expected);
                }
            });
        }
    });
}
