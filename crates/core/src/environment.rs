//! The environment a run executed in and a model was trained in: ironmage's version, the
//! operating system and, when Python blocks ran, the interpreter and the exact version of every
//! package it had. Recorded on each run's summary and each registered version's lineage, so a
//! prediction leads back to the software that made its model (seed 004 asks for it).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The variable naming the Python interpreter of Python blocks and pyfunc workers.
pub const PYTHON_VAR: &str = "IRONMAGE_PYTHON";

/// The project's own virtualenv, as `ironmage deps` creates it.
pub const PROJECT_VENV: &str = ".venv";

impl Environment {
    /// This process's environment, with the Python one when Python blocks ran.
    pub fn current(python: Option<PythonEnvironment>) -> Environment {
        Environment {
            ironmage: env!("CARGO_PKG_VERSION").to_string(),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            python,
        }
    }
}

/// The interpreter `IRONMAGE_PYTHON` names, `python3` when unset or empty.
pub fn interpreter_from_env() -> PathBuf {
    std::env::var_os(PYTHON_VAR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// The interpreter for a project's Python blocks: `IRONMAGE_PYTHON` when set, else the
/// project's virtualenv when `ironmage deps` made one, else `python3`.
pub fn project_interpreter(project_root: &Path) -> PathBuf {
    if std::env::var_os(PYTHON_VAR).is_some_and(|v| !v.is_empty()) {
        return interpreter_from_env();
    }
    let venv = venv_python(&project_root.join(PROJECT_VENV));
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

/// The interpreter inside a virtualenv folder.
pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Where and with what a run executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Environment {
    /// ironmage's version.
    #[cfg_attr(feature = "http", schema(example = "0.1.0"))]
    pub ironmage: String,
    /// Operating system (`linux`, `macos`).
    pub os: String,
    /// CPU architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// The Python blocks' interpreter and packages; null when no Python block ran.
    pub python: Option<PythonEnvironment>,
}

/// A Python interpreter and the exact versions of the packages it can import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PythonEnvironment {
    /// The interpreter's path (`sys.executable`).
    pub executable: String,
    /// Python's version (`3.11.7`).
    pub version: String,
    /// Every installed distribution, name → version (`scikit-learn` → `1.5.2`).
    pub packages: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_venv_is_the_default_interpreter_unless_the_variable_names_one() {
        // The variable is read by other tests of this process: only assert when it is unset.
        if std::env::var_os(PYTHON_VAR).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(project_interpreter(dir.path()), PathBuf::from("python3"));
        let python = venv_python(&dir.path().join(PROJECT_VENV));
        std::fs::create_dir_all(python.parent().unwrap()).unwrap();
        std::fs::write(&python, "").unwrap();
        assert_eq!(project_interpreter(dir.path()), python);
    }

    #[test]
    fn the_current_environment_names_this_build() {
        let env = Environment::current(None);
        assert_eq!(env.ironmage, env!("CARGO_PKG_VERSION"));
        assert!(!env.os.is_empty() && !env.arch.is_empty());
        let json = serde_json::to_value(&env).unwrap();
        assert!(json["python"].is_null());
    }
}
