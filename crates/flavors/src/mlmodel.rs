//! An MLflow model folder's `MLmodel` file: which flavors the model was saved with, where each
//! flavor's files are, and the input signature.

use ironmage_core::table::steps::Kind;
use ironmage_core::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

impl MlModel {
    /// Read `<dir>/MLmodel`.
    pub fn read(dir: &Path) -> Result<MlModel> {
        let path = dir.join("MLmodel");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::invalid(format!(
                "{} cannot be read ({e}): is this an MLflow model folder?",
                path.display()
            ))
        })?;
        MlModel::parse(&text)
    }

    /// Parse the text of an `MLmodel` file.
    pub fn parse(text: &str) -> Result<MlModel> {
        let file: MlModelFile = serde_yaml::from_str(text)
            .map_err(|e| Error::invalid(format!("MLmodel is not valid YAML: {e}")))?;
        let inputs = match file.signature.and_then(|s| s.inputs) {
            None => None,
            Some(json) => Some(parse_inputs(&json)?),
        };
        Ok(MlModel {
            flavors: file.flavors,
            inputs,
        })
    }

    /// The named flavor's settings, if the model was saved with it.
    pub fn flavor(&self, name: &str) -> Option<&serde_yaml::Mapping> {
        self.flavors.get(name).and_then(|v| v.as_mapping())
    }

    /// A string setting of a flavor (`data`, `model_class`, `loader_module`…).
    pub fn setting(&self, flavor: &str, key: &str) -> Option<&str> {
        self.flavor(flavor)?.get(key)?.as_str()
    }

    /// The flavor names, sorted.
    pub fn flavor_names(&self) -> Vec<&str> {
        self.flavors.keys().map(String::as_str).collect()
    }
}

/// The signature's inputs: named columns, or one tensor.
fn parse_inputs(json: &str) -> Result<SignatureInputs> {
    let specs: Vec<serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| Error::invalid(format!("MLmodel signature inputs are not JSON: {e}")))?;
    if let Some(tensor) = specs.iter().find(|s| s["type"] == "tensor") {
        let shape = &tensor["tensor-spec"]["shape"];
        let width = shape
            .as_array()
            .and_then(|s| s.last())
            .and_then(serde_json::Value::as_i64)
            .filter(|w| *w > 0)
            .map(|w| w as usize);
        return Ok(SignatureInputs::Tensor { width });
    }
    let mut columns = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let name = spec["name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| i.to_string());
        let kind = match spec["type"].as_str() {
            Some("double" | "float" | "long" | "integer" | "boolean") => Kind::Number,
            Some("string") => Kind::Text,
            Some(other) => {
                return Ok(SignatureInputs::Other {
                    reason: format!("column {name:?} has type {other}"),
                })
            }
            None => {
                return Ok(SignatureInputs::Other {
                    reason: format!("column {name:?} has no simple type"),
                })
            }
        };
        columns.push((name, kind));
    }
    Ok(SignatureInputs::Columns(columns))
}

/// The `MLmodel` file, as read.
#[derive(Debug, Deserialize)]
struct MlModelFile {
    #[serde(default)]
    flavors: BTreeMap<String, serde_yaml::Value>,
    signature: Option<SignatureFile>,
}

#[derive(Debug, Deserialize)]
struct SignatureFile {
    /// A JSON text, as MLflow writes it.
    inputs: Option<String>,
}

/// A parsed `MLmodel`.
#[derive(Debug, Clone)]
pub struct MlModel {
    /// Flavor name → its settings.
    pub flavors: BTreeMap<String, serde_yaml::Value>,
    /// The signature's inputs, when the model was logged with one.
    pub inputs: Option<SignatureInputs>,
}

/// What a signature says a request holds.
#[derive(Debug, Clone, PartialEq)]
pub enum SignatureInputs {
    /// Named columns of numbers or text, in order.
    Columns(Vec<(String, Kind)>),
    /// One tensor, `width` values per row when the shape says.
    Tensor {
        /// The last dimension, when fixed.
        width: Option<usize>,
    },
    /// Columns of types ironmage does not parse (binary, datetime, arrays): the model takes
    /// requests as JSON it passes on to Python.
    Other {
        /// Which column and type.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKLEARN: &str = r#"
artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.11.7
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "double", "name": "NumberOfTime30-59DaysPastDueNotWorse", "required": true}, {"type": "long", "name": "age", "required": true}, {"type": "string", "name": "city", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
"#;

    #[test]
    fn reads_flavors_and_column_signature() {
        let m = MlModel::parse(SKLEARN).unwrap();
        assert_eq!(m.flavor_names(), vec!["python_function", "sklearn"]);
        assert_eq!(
            m.setting("python_function", "loader_module"),
            Some("mlflow.sklearn")
        );
        assert_eq!(
            m.inputs,
            Some(SignatureInputs::Columns(vec![
                ("NumberOfTime30-59DaysPastDueNotWorse".into(), Kind::Number),
                ("age".into(), Kind::Number),
                ("city".into(), Kind::Text),
            ]))
        );
    }

    #[test]
    fn reads_a_tensor_signature_and_none() {
        let m = MlModel::parse(
            "flavors:\n  onnx:\n    data: model.onnx\nsignature:\n  inputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1, 4]}}]'\n",
        )
        .unwrap();
        assert_eq!(m.setting("onnx", "data"), Some("model.onnx"));
        assert_eq!(m.inputs, Some(SignatureInputs::Tensor { width: Some(4) }));
        let m = MlModel::parse("flavors: {}\n").unwrap();
        assert_eq!(m.inputs, None);
        assert!(MlModel::parse("flavors: [").is_err());
    }
}
