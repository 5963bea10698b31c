//! `ironmage models …` and `ironmage predict-batch` against a real project: two demo runs
//! register two versions, then the registry is driven from the terminal.

use std::path::Path;
use std::process::{Command, Output};

fn ironmage(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironmage"))
        .args(args)
        .env("IRONMAGE_DATA_DIR", dir.join("data"))
        .env("IRONMAGE_PROJECT_DIR", dir.join("project"))
        .env_remove("DATABASE_URL")
        .env("USER", "tester")
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

/// Run and expect success; returns the output text.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = ironmage(dir, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    text(&out)
}

/// Run and expect a failure whose message holds `needle`.
fn fails(dir: &Path, args: &[&str], needle: &str) {
    let out = ironmage(dir, args);
    assert!(!out.status.success(), "{args:?} succeeded: {}", text(&out));
    assert!(text(&out).contains(needle), "{args:?}: {}", text(&out));
}

#[test]
fn every_registry_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "list",
        "show",
        "versions",
        "promote",
        "approve",
        "reject",
        "requests",
        "rollback",
        "compare",
        "policy",
        "keep-latest",
        "delete",
    ] {
        let t = ok(dir.path(), &["models", cmd, "--help"]);
        assert!(t.contains("Usage: ironmage models"), "{cmd}: {t}");
    }
    assert!(ok(dir.path(), &["predict-batch", "--help"]).contains("--stage"));
    fails(
        dir.path(),
        &[
            "predict-batch",
            "--model",
            "m",
            "--input",
            "a",
            "--output",
            "b",
        ],
        // Production is the default stage; the model is looked up first.
        "name=m not found",
    );
}

#[test]
fn registry_workflow_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init", d.join("project").to_str().unwrap()]);
    for seed in ["1", "2"] {
        ok(
            d,
            &[
                "run",
                "demo_mlops",
                "--var",
                "rows=400",
                "--var",
                &format!("seed={seed}"),
            ],
        );
    }
    // Set after the runs: with it, the deploy block would ask for approvals instead.
    ok(d, &["models", "policy", "churn", "--approvals", "2"]);
    assert!(ok(d, &["models", "list"]).contains("churn"));
    let versions = ok(d, &["models", "versions", "churn"]);
    assert!(
        versions.contains("v1") && versions.contains("v2"),
        "{versions}"
    );

    // Staging directly, Production through two approvals.
    ok(
        d,
        &[
            "models",
            "promote",
            "churn",
            "--version",
            "1",
            "--to",
            "staging",
            "--reason",
            "re-check",
        ],
    );
    let asked = ok(
        d,
        &[
            "models",
            "promote",
            "churn",
            "--version",
            "1",
            "--to",
            "production",
            "--reason",
            "steadier",
            "--user",
            "alice",
        ],
    );
    assert!(asked.contains("request id: 1"), "{asked}");
    let first = ok(
        d,
        &[
            "models",
            "approve",
            "churn",
            "--request",
            "1",
            "--user",
            "bob",
        ],
    );
    assert!(first.contains("1/2 approvals"), "{first}");
    fails(
        d,
        &[
            "models",
            "approve",
            "churn",
            "--request",
            "1",
            "--user",
            "bob",
        ],
        "already approved",
    );
    let second = ok(d, &["models", "approve", "churn", "--request", "1"]);
    assert!(second.contains("v1 is now in Production"), "{second}");

    let back = ok(
        d,
        &[
            "models",
            "rollback",
            "churn",
            "--version",
            "2",
            "--reason",
            "v1 drifts",
        ],
    );
    assert!(back.contains("v2 is back in Production"), "{back}");
    let cmp = ok(d, &["models", "compare", "churn", "1", "2"]);
    assert!(
        cmp.contains("auc_score") && cmp.contains("random_state"),
        "{cmp}"
    );
    let show = ok(d, &["models", "show", "churn"]);
    assert!(show.contains("approvers=bob,tester"), "{show}");
    assert!(show.contains("rollback: v1 drifts"), "{show}");
    fails(
        d,
        &[
            "models",
            "delete",
            "churn",
            "--version",
            "2",
            "--reason",
            "x",
        ],
        "is in Production",
    );

    // Batch prediction by stage: input columns + prediction + probability.
    let features = "account_age,monthly_charges,total_charges,num_services,customer_service_calls,contract_length,payment_method_score,usage_frequency,support_tickets,satisfaction_score";
    let input = d.join("in.csv");
    std::fs::write(
        &input,
        format!(
            "id,{features}\nA,24,65.5,1569.5,3,4,12,0.8,0.7,2,0.6\nB,2,99,198,1,9,1,0.1,0.1,7,\n"
        ),
    )
    .unwrap();
    let output = d.join("out.csv");
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let scored = ok(
        d,
        &[
            "predict-batch",
            "--model",
            "churn",
            "--stage",
            "production",
            "--input",
            i,
            "--output",
            o,
        ],
    );
    assert!(scored.contains("scored 2 rows with churn v2"), "{scored}");
    let csv = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        format!("id,{features},model_name,model_version,prediction,probability,prediction_id")
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[2].starts_with("B,2,99,198,1,9,1,0.1,0.1,7,,churn,2,"),
        "{}",
        lines[2]
    );
    let p: f64 = lines[1].rsplit(',').nth(1).unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&p));
    // Each row has its own prediction id; everything else is the model's answer.
    let without_ids = |csv: &str| -> Vec<String> {
        csv.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    // Same version by number: same answers.
    ok(
        d,
        &[
            "predict-batch",
            "--model",
            "churn",
            "--version",
            "2",
            "--input",
            i,
            "--output",
            d.join("again.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(
        without_ids(&std::fs::read_to_string(d.join("again.csv")).unwrap()),
        without_ids(&csv)
    );

    std::fs::write(
        &input,
        format!("{features}\n1,2,3,4,5,6,7,8,9,10\n1,abc,3,4,5,6,7,8,9,10\n"),
    )
    .unwrap();
    let bad_out = d.join("bad.csv");
    fails(
        d,
        &[
            "predict-batch",
            "--model",
            "churn",
            "--version",
            "1",
            "--input",
            i,
            "--output",
            bad_out.to_str().unwrap(),
        ],
        "line 3, column monthly_charges",
    );
    assert!(!bad_out.exists(), "no output after an error");
    fails(
        d,
        &[
            "predict-batch",
            "--model",
            "churn",
            "--stage",
            "staging",
            "--input",
            i,
            "--output",
            o,
        ],
        "has no version in Staging",
    );
    fails(
        d,
        &[
            "predict-batch",
            "--model",
            "nope",
            "--stage",
            "production",
            "--input",
            i,
            "--output",
            o,
        ],
        "not found",
    );

    // Clear errors, non-zero exits.
    fails(
        d,
        &["models", "versions", "nope"],
        "model \"nope\" not found",
    );
    fails(
        d,
        &[
            "models",
            "promote",
            "churn",
            "--version",
            "1",
            "--to",
            "live",
            "--reason",
            "x",
        ],
        "expected staging or production",
    );
    fails(
        d,
        &[
            "models",
            "promote",
            "churn",
            "--version",
            "9",
            "--to",
            "staging",
            "--reason",
            "x",
        ],
        "has no version 9",
    );
    fails(
        d,
        &["models", "policy", "churn", "--gate", "auc_score=>0.8"],
        "invalid gate",
    );
    fails(
        d,
        &[
            "models",
            "reject",
            "churn",
            "--request",
            "7",
            "--reason",
            "x",
        ],
        "no approval request 7",
    );
}
