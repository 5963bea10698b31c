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
        "deps",
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

/// Issue 15: `--block` runs one block on the stored outputs of its upstream blocks (refused with
/// the block named before any run has stored them), `--from-block` a block and its downstream.
#[test]
fn single_block_and_from_block_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    assert!(ironmage(dir.path(), &["init", project.to_str().unwrap()])
        .status
        .success());
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "demo_mlops", "--var", "rows=300"];
        args.extend_from_slice(extra);
        ironmage(dir.path(), &args)
    };
    for (args, needle) in [
        (
            vec!["--block", "training"],
            "error: block preprocessing has no stored output",
        ),
        (
            vec!["--block", "training", "--from-block", "training"],
            "from_block: give either block",
        ),
        (vec!["--from-block", "train"], "has no block \"train\""),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(needle), "{args:?}: {}", text(&out));
    }
    assert!(run(&[]).status.success());

    let out = run(&["--block", "training"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("Executing block training of pipeline demo_mlops"),
        "{t}"
    );
    assert!(t.contains("✅ Block: training"), "{t}");
    for block in ["make_dataset", "preprocessing", "registry", "deployment"] {
        assert!(
            t.contains(&format!("⏭  Block: {block} (skipped")),
            "{block}: {t}"
        );
    }
    assert!(!t.contains("Model version:"), "nothing registered: {t}");

    let out = run(&["--from-block", "registry"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("Executing pipeline demo_mlops from block registry"),
        "{t}"
    );
    for block in ["registry", "deployment"] {
        assert!(t.contains(&format!("✅ Block: {block}")), "{block}: {t}");
    }
    assert!(t.contains("Model version: churn v_"), "{t}");
}
