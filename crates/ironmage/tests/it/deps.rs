//! `ironmage deps`: the project's requirements.txt installed into its `.venv`, the exact
//! versions written to requirements.lock. Offline: the one requirement is a wheel this test
//! builds, found with `--no-index --find-links`.
//!
//! Needs the test interpreter (`IRONMAGE_TEST_PYTHON`) to create the virtualenv; without it
//! the test says so and passes, except in CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn python() -> Option<PathBuf> {
    match std::env::var("IRONMAGE_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(PathBuf::from(p.trim())),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") => {
            panic!("IRONMAGE_TEST_PYTHON is not set and CI is: the deps test must run")
        }
        _ => {
            eprintln!("SKIPPED: IRONMAGE_TEST_PYTHON is not set");
            None
        }
    }
}

fn deps(project: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironmage"))
        .arg("deps")
        .args(args)
        .env("IRONMAGE_PROJECT_DIR", project)
        .env("IRONMAGE_DATA_DIR", project.join("data"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A pure-Python wheel of `tinypkg` 1.2.3 in `dir`, built with zipfile (no network, no build
/// backend).
fn build_wheel(python: &Path, dir: &Path) {
    let script = r#"
import sys, zipfile, os
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
info = "tinypkg-1.2.3.dist-info"
files = {
    "tinypkg/__init__.py": "VALUE = 42\n",
    f"{info}/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.2.3\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: ironmage-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[f"{info}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(os.path.join(d, "tinypkg-1.2.3-py3-none-any.whl"), "w") as z:
    for path, content in files.items():
        z.writestr(path, content)
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn deps_installs_the_requirements_into_the_project_venv_and_locks_their_versions() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();

    // No requirements file: a clear message and a non-zero exit.
    let out = deps(&project, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no requirements file at"),
        "{}",
        text(&out)
    );
    assert!(!project.join(".venv").exists());

    build_wheel(&python, &project.join("wheels"));
    std::fs::write(
        project.join("requirements.txt"),
        "--no-index\n--find-links wheels\ntinypkg==1.2.3\n",
    )
    .unwrap();
    let python_arg = python.to_str().unwrap();
    let out = deps(&project, &["--python", python_arg]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("creating the virtualenv"), "{shown}");
    // Python blocks need pandas and pyarrow: the command says so rather than the first run.
    assert!(shown.contains("need pandas and pyarrow"), "{shown}");

    let lock = std::fs::read_to_string(project.join("requirements.lock")).unwrap();
    assert!(lock.lines().any(|l| l == "tinypkg==1.2.3"), "{lock}");
    let venv_python = project.join(".venv/bin/python");
    let import = Command::new(&venv_python)
        .args(["-c", "import tinypkg; print(tinypkg.VALUE)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&import.stdout).trim(), "42");

    // Run again: the virtualenv is reused, the lock rewritten the same.
    let out = deps(&project, &["--python", python_arg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("using the virtualenv"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(project.join("requirements.lock")).unwrap(),
        lock
    );

    // A requirement that cannot be met fails the command, naming the step.
    std::fs::write(
        project.join("requirements.txt"),
        "--no-index\n--find-links wheels\ntinypkg==9.9.9\n",
    )
    .unwrap();
    let out = deps(&project, &["--python", python_arg]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("cannot install the requirements"),
        "{}",
        text(&out)
    );
}
