//! The Python interpreter with scikit-learn and skl2onnx, found through `IRONMAGE_TEST_PYTHON`,
//! and the models its scripts write.
//!
//! When the variable is unset a test prints why it skips and passes, except in CI (`CI` set),
//! where a skipped test is not a passing one, so it panics.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Variable holding the path of the test interpreter.
pub const PYTHON_VAR: &str = "IRONMAGE_TEST_PYTHON";

/// Whether we run in CI, where a missing interpreter fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// The test interpreter, or `None` after a printed notice; panics in CI.
pub fn python() -> Option<PathBuf> {
    match std::env::var(PYTHON_VAR) {
        Ok(p) if !p.trim().is_empty() => Some(PathBuf::from(p.trim())),
        _ if in_ci() => panic!(
            "{PYTHON_VAR} is not set and CI is: tests that need scikit-learn and skl2onnx must \
             not be skipped in CI"
        ),
        _ => {
            eprintln!(
                "SKIPPED: {PYTHON_VAR} is not set (point it at a Python with scikit-learn and \
                 skl2onnx to run this test)"
            );
            None
        }
    }
}

/// The folder where `tests/python/<script>` wrote its models when run with `args` and an output
/// folder. Each test process of nextest would otherwise convert them again: the folder is kept
/// under the target's test tmpdir, named by a hash of the script, the arguments and the
/// interpreter, and written to a temporary sibling that is renamed into place, so concurrent
/// tests share one finished copy.
pub fn script_output(script: &str, args: &[&str]) -> Option<PathBuf> {
    let python = python()?;
    let script_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let source = std::fs::read(&script_path).expect("read the model script");
    let mut hasher = DefaultHasher::new();
    (&source, args, &python).hash(&mut hasher);
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let done = root.join(format!(
        "{}-{:016x}",
        script.trim_end_matches(".py"),
        hasher.finish()
    ));
    if done.is_dir() {
        return Some(done);
    }
    std::fs::create_dir_all(root).expect("create the test tmpdir");
    let work = tempfile::tempdir_in(root).expect("create a work folder");
    let status = Command::new(&python)
        .arg(&script_path)
        .arg(work.path())
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("run {} {}: {e}", python.display(), script_path.display()));
    assert!(
        status.success(),
        "{} failed: {status}",
        script_path.display()
    );
    let work = work.keep();
    if std::fs::rename(&work, &done).is_err() {
        // Another test finished first: use its copy.
        assert!(
            done.is_dir(),
            "could not move the models to {}",
            done.display()
        );
        let _ = std::fs::remove_dir_all(&work);
    }
    Some(done)
}
