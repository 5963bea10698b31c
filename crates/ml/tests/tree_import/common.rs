//! The models and predictions of `crates/ml/tests/python/make_tree_models.py`, trained by the
//! Python interpreter in `IRONMAGE_TEST_PYTHON` (LightGBM and XGBoost installed). Without it a
//! test prints a notice and passes as skipped, except in CI (`CI` set): there it panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use ironmage_ml::{import, ImportedModel, Result};

/// Variable holding the Python interpreter with LightGBM and XGBoost.
pub const PYTHON_VAR: &str = "IRONMAGE_TEST_PYTHON";

/// Whether we run in CI, where a missing interpreter fails instead of skipping.
fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// The interpreter, or `None` after a printed notice; panics in CI.
fn python() -> Option<String> {
    match std::env::var(PYTHON_VAR) {
        Ok(p) if !p.trim().is_empty() => Some(p.trim().to_string()),
        _ if in_ci() => panic!(
            "{PYTHON_VAR} is not set and CI is: the tree import tests must not be skipped in CI \
             (scripts/test.sh sets it to the venv with LightGBM and XGBoost)"
        ),
        _ => {
            eprintln!("SKIPPED: {PYTHON_VAR} is not set (a Python with lightgbm and xgboost)");
            None
        }
    }
}

/// A folder of trained models, removed when dropped.
pub struct Models {
    dir: tempfile::TempDir,
}

impl Models {
    /// Trains the test models, or `None` when there is no interpreter (outside CI).
    pub fn train() -> Option<Models> {
        let python = python()?;
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/make_tree_models.py");
        let out = Command::new(&python)
            .arg(&script)
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
        Some(Models { dir })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The lines of a tab-separated file, split.
    pub fn table(&self, file: &str) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.path(file))
            .unwrap()
            .lines()
            .map(|l| l.split('\t').map(String::from).collect())
            .collect()
    }

    /// Rows of numbers separated by spaces (`nan`, `inf` allowed).
    pub fn numbers(&self, file: &str) -> Vec<Vec<f64>> {
        std::fs::read_to_string(self.path(file))
            .unwrap()
            .lines()
            .map(|l| l.split(' ').map(|v| v.parse().unwrap()).collect())
            .collect()
    }

    /// Every model file the test cases use, by loader: (name, loader, file).
    pub fn cases(&self) -> Vec<(String, String, String)> {
        self.table("cases.tsv")
            .into_iter()
            .map(|c| (c[0].clone(), c[1].clone(), c[2].clone()))
            .collect()
    }
}

/// Loads `bytes` with the loader named in `cases.tsv`.
pub fn load(loader: &str, bytes: &[u8]) -> Result<ImportedModel> {
    match loader {
        "lightgbm" => import::lightgbm::load(&String::from_utf8_lossy(bytes)),
        "xgboost_json" => import::xgboost::load_json(bytes),
        "xgboost_ubj" => import::xgboost::load_ubj(bytes),
        other => panic!("unknown loader {other}"),
    }
}

/// The loader of a model file, from its extension.
pub fn loader_of(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("txt") => "lightgbm",
        Some("json") => "xgboost_json",
        Some("ubj") => "xgboost_ubj",
        _ => panic!("no loader for {file}"),
    }
}
