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

#[test]
fn a_fan_out_run_prints_each_item_run_and_a_bad_callback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    assert!(ironmage(dir.path(), &["init", project.to_str().unwrap()])
        .status
        .success());
    let write = |name: &str, yaml: &str| {
        let folder = project.join("pipelines").join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("pipeline.yaml"), yaml).unwrap();
    };
    write(
        "fan",
        "blocks:\n\
         - {name: cities, kind: command, dynamic: true, config: {shell: \"printf 'city\\\\nOslo\\\\nBergen\\\\n' > $IRONMAGE_OUTPUT\"}}\n\
         - {name: each, kind: command, upstream: [cities], reduce_output: true, config: {shell: 'cp $IRONMAGE_INPUT_CITIES $IRONMAGE_OUTPUT'}}\n\
         - {name: gather, kind: noop, upstream: [each], callbacks: {on_success: [done]}}\n\
         - {name: done, kind: noop}\n",
    );
    write(
        "bad",
        "blocks:\n- {name: a, kind: noop, callbacks: {on_failure: [alert]}}\n",
    );
    let out = ironmage(dir.path(), &["run", "fan"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for block in ["cities", "each:0", "each:1", "each", "gather", "done"] {
        assert!(t.contains(&format!("✅ Block: {block}")), "{block}: {t}");
    }

    let out = ironmage(dir.path(), &["run", "bad"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("block a: field callbacks.on_failure: no block named \"alert\""),
        "{t}"
    );
}
