//! The command line: help everywhere, a terminal run with progress, clear errors and exit codes.

use std::process::{Command, Output};

fn ironmage(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironmage"))
        .args(args)
        .env("IRONMAGE_DATA_DIR", dir.join("data"))
        .env("IRONMAGE_PROJECT_DIR", dir.join("project"))
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

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "up",
        "web",
        "scheduler",
        "executor",
        "predict",
        "run",
        "init",
    ] {
        let out = ironmage(dir.path(), &[cmd, "--help"]);
        assert!(out.status.success(), "{cmd}: {}", text(&out));
        assert!(text(&out).contains("Usage: ironmage"), "{cmd}");
    }
    let out = ironmage(dir.path(), &["--help"]);
    assert!(text(&out).contains("Run every role in one process"));
}

#[test]
fn init_then_run_prints_progress_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let out = ironmage(dir.path(), &["init", project.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = ironmage(dir.path(), &["run", "demo_mlops", "--var", "rows=400"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for block in [
        "make_dataset",
        "preprocessing",
        "training",
        "registry",
        "deployment",
    ] {
        assert!(
            t.contains(&format!("✅ Block: {block}")),
            "{block} missing in {t}"
        );
    }
    assert!(t.contains("Data version:  data_v_"), "{t}");
    assert!(t.contains("Model version: churn v_"), "{t}");
    assert!(t.contains("auc_score"), "{t}");
}

#[test]
fn bad_runs_fail_with_a_message_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    assert!(ironmage(dir.path(), &["init", project.to_str().unwrap()])
        .status
        .success());
    for (args, needle) in [
        (vec!["run", "nope"], "not found"),
        (vec!["run", "demo_mlops", "--var", "seed"], "NAME=VALUE"),
        (
            vec!["run", "demo_mlops", "--var", "colour=red"],
            "no variable \"colour\"",
        ),
        (
            vec!["run", "demo_mlops", "--var", "rows=\"many\""],
            "config.rows",
        ),
    ] {
        let out = ironmage(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(needle), "{args:?}: {}", text(&out));
    }
    let broken = project.join("pipelines/demo_mlops/pipeline.yaml");
    let yaml = std::fs::read_to_string(&broken)
        .unwrap()
        .replace("kind: preprocess", "kind: preprocesss");
    std::fs::write(&broken, yaml).unwrap();
    let out = ironmage(dir.path(), &["run", "demo_mlops"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("block preprocessing: field kind: unknown block kind \"preprocesss\""),
        "{}",
        text(&out)
    );
    let out = ironmage(dir.path(), &["up", "--web-addr", "not-an-address"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot listen on not-an-address"),
        "{}",
        text(&out)
    );
}
