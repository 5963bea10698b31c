//! What a started Python model is: its interpreter, its model, and its recorded requirements.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Describes a started [`crate::python::PythonModel`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PythonInfo {
    /// The interpreter as configured.
    pub interpreter: PathBuf,
    /// `sys.executable` of the workers.
    pub executable: String,
    /// The interpreter's version, e.g. `3.12.3`.
    pub python_version: String,
    /// The installed MLflow's version.
    pub mlflow_version: Option<String>,
    /// The flavors in the model's `MLmodel` file (`python_function`, `sklearn`, ...).
    pub flavors: Vec<String>,
    /// The `python_function` flavor's loader module (`mlflow.sklearn`, `mlflow.pyfunc.model`).
    pub loader_module: Option<String>,
    /// The signature's input schema as MLflow writes it (`Schema.to_dict()`), if recorded.
    pub input_schema: Option<serde_json::Value>,
    /// The Python version the model was saved with (`python_env.yaml` or `conda.yaml`).
    pub recorded_python: Option<String>,
    /// Each requirement the model recorded, checked against the interpreter's packages.
    pub requirements: Vec<Requirement>,
    /// Worker processes in the pool.
    pub workers: usize,
}

impl PythonInfo {
    /// The requirements that are not installed.
    pub fn missing(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements
            .iter()
            .filter(|r| r.status == RequirementStatus::Missing)
    }

    /// The requirements installed at a version outside the recorded specifier.
    pub fn mismatched(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements
            .iter()
            .filter(|r| r.status == RequirementStatus::Mismatched)
    }
}

/// One requirement the model recorded (`scikit-learn==1.9.1`), and how the interpreter meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The line as recorded.
    pub spec: String,
    /// The distribution's name, when the spec could be parsed.
    pub name: Option<String>,
    /// The file it comes from (`requirements.txt`, `python_env.yaml`, `conda.yaml`).
    pub source: String,
    /// The installed version, if any.
    pub installed: Option<String>,
    pub status: RequirementStatus,
}

impl Requirement {
    /// `spec (not installed)` or `spec (installed 1.2)`, for error messages.
    pub fn describe(&self) -> String {
        match (&self.status, &self.installed) {
            (RequirementStatus::Missing, _) => format!("{} (not installed)", self.spec),
            (_, Some(version)) => format!("{} (installed {version})", self.spec),
            (_, None) => self.spec.clone(),
        }
    }
}

/// How the interpreter meets one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    /// Installed at a version the specifier allows.
    Satisfied,
    /// Not installed.
    Missing,
    /// Installed at a version the specifier excludes.
    Mismatched,
    /// Its environment marker excludes this interpreter (`; sys_platform == "win32"`).
    NotApplicable,
    /// Not a requirement the worker could parse (a URL, a local path, an option).
    Unchecked,
}
