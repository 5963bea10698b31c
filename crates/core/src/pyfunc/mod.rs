//! An MLflow model folder for a model that ironmage trained, so that the official client's
//! `mlflow.pyfunc.load_model("models:/churn/Production")` loads it with no ironmage package
//! installed (see docs/mlflow.md, "Loading ironmage's models with MLflow").
//!
//! When a pipeline registers a version, the register block writes this folder under the run's
//! artifacts (`<experiment>/<run>/artifacts/model/`), through the artifact path index the
//! MLflow artifact proxy serves:
//!
//! - `MLmodel`: a `python_function` flavor whose loader ships in the folder
//!   (`loader_module: ironmage_pyfunc`, `code: code`, `data: model.json`), and a column
//!   signature from the model's request fields;
//! - `code/ironmage_pyfunc.py`: a scorer in Python and numpy that replays the preprocessing and
//!   the model with the same float operations, in the same order, as the Rust scorer;
//! - `model.json`: the bundle as JSON ([`export`]), every float exact;
//! - `requirements.txt`, `python_env.yaml`, `conda.yaml`: numpy and pandas (and mlflow),
//!   unpinned, since the scorer uses only their oldest, stablest parts.

pub mod export;

use crate::error::Result;
use crate::model::{ModelBundle, Task};
use crate::table::steps::Kind;
use serde_json::{json, Value};

pub use export::Export;

/// The folder's path under the run's artifacts when the pipeline registers one model.
pub const ARTIFACT_PATH: &str = "model";

/// The scorer: `_load_pyfunc(path)` and `predict(DataFrame)`.
pub const SCORER: &str = include_str!("ironmage_pyfunc.py");

/// The Python the folder declares: the scorer runs on any Python 3 with numpy and pandas, and
/// MLflow only warns when the loading Python's minor version differs.
pub const PYTHON_VERSION: &str = "3.11";

/// Where a folder comes from, as its `MLmodel` records it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The tracking run (the pipeline run) that trained the model.
    pub run_id: String,
    /// The folder's path under the run's artifacts.
    pub artifact_path: String,
    /// When the folder was written.
    pub created: chrono::DateTime<chrono::Utc>,
    /// MLflow's `model_uuid`.
    pub model_uuid: String,
}

/// The folder's files, as (path in the folder, content).
pub fn model_folder(bundle: &ModelBundle, origin: &Origin) -> Result<Vec<(String, Vec<u8>)>> {
    let doc = Export::new(bundle);
    let model_json = doc.to_json()?;
    let files = vec![
        ("MLmodel", mlmodel(bundle, &doc, origin)?),
        ("model.json", model_json),
        ("code/ironmage_pyfunc.py", SCORER.to_string()),
        ("requirements.txt", "mlflow\nnumpy\npandas\n".to_string()),
        (
            "python_env.yaml",
            format!(
                "python: \"{PYTHON_VERSION}\"\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
            ),
        ),
        (
            "conda.yaml",
            format!(
                "channels:\n- conda-forge\ndependencies:\n- python={PYTHON_VERSION}\n- pip\n- pip:\n  - mlflow\n  - numpy\n  - pandas\nname: mlflow-env\n"
            ),
        ),
    ];
    Ok(files
        .into_iter()
        .map(|(path, text)| (path.to_string(), text.into_bytes()))
        .collect())
}

/// MLflow's column signature: the request fields (numbers as `double`, categories as
/// `string`), and one output column (`long` classes or `double` values).
fn signature(bundle: &ModelBundle) -> Value {
    let inputs: Vec<Value> = bundle
        .schema
        .request_fields()
        .map(|(name, kind)| {
            let t = match kind {
                Kind::Number => "double",
                Kind::Text => "string",
            };
            json!({"type": t, "name": name, "required": true})
        })
        .collect();
    let output = match bundle.schema.task {
        Task::Classification => "long",
        Task::Regression => "double",
    };
    // MLflow keeps the column lists as JSON text inside the YAML.
    json!({
        "inputs": Value::String(Value::Array(inputs).to_string()),
        "outputs": Value::String(json!([{"type": output, "required": true}]).to_string()),
        "params": null,
    })
}

fn mlmodel(bundle: &ModelBundle, doc: &Export, origin: &Origin) -> Result<String> {
    let kind = serde_json::to_value(&doc.model)?
        .get("kind")
        .cloned()
        .unwrap_or(Value::Null);
    let value = json!({
        "artifact_path": origin.artifact_path,
        "flavors": {
            "python_function": {
                "loader_module": "ironmage_pyfunc",
                "code": "code",
                "data": "model.json",
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "python_version": PYTHON_VERSION,
            },
            "ironmage": {
                "data": "model.json",
                "format": export::FORMAT,
                "format_version": export::FORMAT_VERSION,
                "model_kind": kind,
                "task": doc.task,
            },
        },
        "model_uuid": origin.model_uuid,
        "run_id": origin.run_id,
        "signature": signature(bundle),
        "utc_time_created": origin.created.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
    });
    serde_yaml::to_string(&value)
        .map_err(|e| crate::Error::internal(format!("cannot write MLmodel: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            run_id: "0123456789abcdef0123456789abcdef".into(),
            artifact_path: "model".into(),
            created: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
            model_uuid: "6f1c0e0c6a2d4d7a9b5e3c2a1f0e9d8c".into(),
        }
    }

    fn file<'a>(files: &'a [(String, Vec<u8>)], path: &str) -> &'a str {
        let (_, bytes) = files.iter().find(|(p, _)| p == path).unwrap();
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_folder_loads_with_the_python_function_flavor() {
        let (_, bundle) = export::tests::bundles().remove(0);
        let files = model_folder(&bundle, &origin()).unwrap();
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "MLmodel",
                "model.json",
                "code/ironmage_pyfunc.py",
                "requirements.txt",
                "python_env.yaml",
                "conda.yaml"
            ]
        );
        let mlmodel: Value = serde_yaml::from_str(file(&files, "MLmodel")).unwrap();
        let pyfunc = &mlmodel["flavors"]["python_function"];
        assert_eq!(pyfunc["loader_module"], "ironmage_pyfunc");
        assert_eq!(pyfunc["code"], "code");
        assert_eq!(pyfunc["data"], "model.json");
        assert_eq!(pyfunc["python_version"], "3.11");
        assert_eq!(
            mlmodel["flavors"]["ironmage"]["model_kind"],
            "forest_classifier"
        );
        assert_eq!(mlmodel["run_id"], origin().run_id);
        assert_eq!(mlmodel["utc_time_created"], "2023-11-14 22:13:20.123456");
        let inputs: Value =
            serde_json::from_str(mlmodel["signature"]["inputs"].as_str().unwrap()).unwrap();
        assert_eq!(
            inputs,
            json!([
                {"type": "double", "name": "age", "required": true},
                {"type": "string", "name": "city", "required": true},
                {"type": "double", "name": "income", "required": true},
            ]),
            "the label is not an input"
        );
        let outputs: Value =
            serde_json::from_str(mlmodel["signature"]["outputs"].as_str().unwrap()).unwrap();
        assert_eq!(outputs, json!([{"type": "long", "required": true}]));
        let env: Value = serde_yaml::from_str(file(&files, "python_env.yaml")).unwrap();
        assert_eq!(env["python"], "3.11", "a string: 3.10 must not read as 3.1");
        assert!(file(&files, "requirements.txt").contains("numpy\n"));
        let doc = Export::from_json(file(&files, "model.json")).unwrap();
        assert_eq!(doc, Export::new(&bundle));
        assert!(file(&files, "code/ironmage_pyfunc.py").contains("def _load_pyfunc(path)"));
    }

    #[test]
    fn a_regressor_answers_doubles() {
        let (_, bundle) = export::tests::bundles()
            .into_iter()
            .find(|(name, _)| *name == "linear")
            .unwrap();
        let files = model_folder(&bundle, &origin()).unwrap();
        let mlmodel: Value = serde_yaml::from_str(file(&files, "MLmodel")).unwrap();
        assert_eq!(
            mlmodel["signature"]["outputs"],
            r#"[{"required":true,"type":"double"}]"#
        );
        assert_eq!(
            mlmodel["flavors"]["ironmage"]["model_kind"],
            "linear_regression"
        );
    }
}
