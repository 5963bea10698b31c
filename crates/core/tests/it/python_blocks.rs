//! `python` blocks: Mage block files run unchanged by one Python runner per run, with tables
//! handed over as Arrow both ways; `@test` failures, timeouts and crashes fail the block with
//! the Python message and traceback.
//!
//! Needs the test interpreter (`IRONMAGE_TEST_PYTHON`, with pandas and pyarrow: the venv of
//! `scripts/mlflow-common.sh`); without it each test says so and passes, except in CI. The
//! interpreter reaches the platform through `IRONMAGE_PYTHON`, set before the platform is
//! opened (nextest runs each test in a process of its own).

use crate::common::platform::{demo_platform, run_pipeline, write_pipeline_files};
use ironmage_core::store::RunStatus;
use ironmage_core::Platform;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn python() -> Option<PathBuf> {
    match std::env::var("IRONMAGE_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(PathBuf::from(p.trim())),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") => {
            panic!("IRONMAGE_TEST_PYTHON is not set and CI is: the Python block tests must run")
        }
        _ => {
            eprintln!("SKIPPED: IRONMAGE_TEST_PYTHON is not set");
            None
        }
    }
}

/// A platform with the demo project, whose Python blocks run on `python`.
async fn platform(dir: &Path, python: &Path) -> Platform {
    std::env::set_var("IRONMAGE_PYTHON", python);
    demo_platform(dir).await
}

/// One block of a finished run.
struct BlockRun {
    name: String,
    status: String,
    error: Option<String>,
    logs: Vec<String>,
    preview: Value,
}

/// Run a pipeline to its end: its status, summary and blocks.
async fn run(p: &Platform, pipeline: &str, variables: Value) -> (RunStatus, Value, Vec<BlockRun>) {
    let variables: Map<String, Value> = variables.as_object().cloned().unwrap_or_default();
    let (outcome, blocks) = run_pipeline(p, pipeline, variables).await;
    let blocks = blocks
        .into_iter()
        .map(|b| BlockRun {
            name: b.block,
            status: b.status.as_str().to_string(),
            error: b.error,
            logs: b.logs,
            preview: b.preview.unwrap_or(Value::Null),
        })
        .collect();
    (outcome.status, outcome.summary, blocks)
}

fn block<'a>(blocks: &'a [BlockRun], name: &str) -> &'a BlockRun {
    blocks.iter().find(|b| b.name == name).unwrap()
}

/// The pid of the runner that ran the block, from its first log line.
fn runner_pid(b: &BlockRun) -> u32 {
    let line = b
        .logs
        .iter()
        .find(|l| l.contains("python runner pid "))
        .unwrap_or_else(|| panic!("no runner line in {:?}", b.logs));
    let rest = &line[line.find("pid ").unwrap() + 4..];
    rest.split(' ').next().unwrap().parse().unwrap()
}

async fn gone(pid: u32) -> bool {
    for _ in 0..50 {
        let alive = std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        if !alive {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_mage_project_runs_unchanged_into_the_built_in_trainer_on_one_runner() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    let (status, summary, blocks) = run(&p, "python_mage", json!({"rows": 600})).await;
    let errors: Vec<_> = blocks
        .iter()
        .map(|b| (&b.name, &b.status, &b.error))
        .collect();
    assert_eq!(status, RunStatus::Success, "{errors:?}");

    let load = block(&blocks, "load_customers");
    assert!(
        load.logs
            .iter()
            .any(|l| l.starts_with("loaded 600 customers")),
        "print() reaches the block log: {:?}",
        load.logs
    );
    assert!(load
        .logs
        .iter()
        .any(|l| l.contains("load_data() (@data_loader)") && l.contains("1 @test passed")));
    assert_eq!(load.preview["rows"], 600);
    assert_eq!(load.preview["label"], "churn", "config.label");
    assert!(load.preview["data_version"]
        .as_str()
        .unwrap()
        .starts_with("data_v_"));

    let features = block(&blocks, "engineer_features");
    assert_eq!(
        features.preview["label"], "churn",
        "the upstream label follows"
    );
    let schema = features.preview["schema"].as_array().unwrap();
    let column = |name: &str| {
        schema
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {schema:?}"))
    };
    assert_eq!(column("contract_month-to-month")["type"], "number");
    assert_eq!(column("complaints")["type"], "number");
    assert!(
        column("satisfaction_score")["missing"].as_u64().unwrap() > 0,
        "NaN survives as missing"
    );

    let (first, second) = (runner_pid(load), runner_pid(features));
    assert_eq!(first, second, "the second block reuses the run's runner");
    assert!(
        features
            .logs
            .iter()
            .any(|l| l.contains("reused, 1 block(s) before")),
        "{:?}",
        features.logs
    );
    assert!(
        gone(first).await,
        "the runner (pid {first}) outlived its run"
    );

    assert!(
        summary["metrics"]["auc_score"].as_f64().unwrap() > 0.7,
        "{summary}"
    );
    assert_eq!(summary["model"], "churn_mage");

    // A new run starts its own runner.
    let (status, _, again) = run(&p, "python_mage", json!({"rows": 300})).await;
    assert_eq!(status, RunStatus::Success);
    assert_ne!(runner_pid(block(&again, "load_customers")), first);
}

const EVERY_TYPE: &str = r#"
import datetime
import pandas as pd

if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader


@data_loader
def load(*args, **kwargs):
    return pd.DataFrame({
        'float': [1.5, None, -2.0],
        'int': pd.array([1, None, 3], dtype='Int64'),
        'plain_int': [1, 2, 3],
        'flag': [True, None, False],
        'text': ['a', None, 'Zürich, CH'],
        'category': pd.Categorical(['x', None, 'y']),
        'when': pd.to_datetime(['2024-01-31', None, '2024-02-29']),
        'day': [datetime.date(2024, 1, 1), None, datetime.date(2024, 1, 3)],
        'no_text': pd.Series([None, None, None], dtype='string'),
        7: [0.1, 0.2, 0.3],
    })
"#;

const CHECK_TYPES: &str = r#"
import math

if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@transformer
def check(df, *args, **kwargs):
    assert list(df.columns) == ['float', 'int', 'plain_int', 'flag', 'text', 'category', 'when',
                                'day', 'no_text', '7'], list(df.columns)
    for name in ['float', 'int', 'plain_int', 'flag', '7']:
        assert df[name].dtype.kind == 'f', (name, df[name].dtype)
    assert df['int'].isna().tolist() == [False, True, False]
    assert df['flag'].tolist()[0] == 1.0 and df['flag'].tolist()[2] == 0.0
    for name in ['text', 'category', 'when', 'day', 'no_text']:
        assert df[name].dtype.kind in 'OT' or str(df[name].dtype) in ('str', 'string'), (name, df[name].dtype)
    assert df['text'].isna().tolist() == [False, True, False]
    assert df['text'][2] == 'Zürich, CH'
    assert df['when'][0].startswith('2024-01-31'), df['when'][0]
    assert df['day'][2] == '2024-01-03', df['day'][2]
    assert df['no_text'].isna().all()
    print('types seen in python:', ', '.join(f'{c}={df[c].dtype}' for c in df.columns))
    return df


@test
def test_same_rows(output, df) -> None:
    assert output is df
"#;

#[tokio::test]
async fn every_column_type_crosses_to_python_and_back_with_its_nulls() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    write_pipeline_files(
        dir.path(),
        "types",
        "name: types\nblocks:\n  - {name: load, kind: python, config: {file: pipelines/types/load.py}}\n  - {name: check, kind: python, upstream: [load], config: {file: pipelines/types/check.py}}\n",
        &[("load.py", EVERY_TYPE), ("check.py", CHECK_TYPES)],
    );
    let (status, _, blocks) = run(&p, "types", json!({})).await;
    let errors: Vec<_> = blocks
        .iter()
        .map(|b| (&b.name, &b.error, &b.logs))
        .collect();
    assert_eq!(status, RunStatus::Success, "{errors:#?}");
    let expected = [
        ("float", "number", 1),
        ("int", "number", 1),
        ("plain_int", "number", 0),
        ("flag", "number", 1),
        ("text", "text", 1),
        ("category", "text", 1),
        ("when", "text", 1),
        ("day", "text", 1),
        ("no_text", "text", 3),
        ("7", "number", 0),
    ];
    for name in ["load", "check"] {
        let schema = block(&blocks, name).preview["schema"]
            .as_array()
            .unwrap()
            .clone();
        let seen: Vec<(String, String, u64)> = schema
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["type"].as_str().unwrap().to_string(),
                    c["missing"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, String, u64)> = expected
            .iter()
            .map(|(n, t, m)| (n.to_string(), t.to_string(), *m))
            .collect();
        assert_eq!(
            seen, want,
            "block {name}: names, order, types and missing values"
        );
    }
    assert_eq!(
        block(&blocks, "load").preview["hash"],
        block(&blocks, "check").preview["hash"],
        "the table came back from Python value for value"
    );
}

const FAILING_TEST: &str = r#"
if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test
import pandas as pd


@data_loader
def load(*args, **kwargs):
    return pd.DataFrame({'x': [1, 2]})


@test
def test_row_count(output, *args) -> None:
    assert len(output) == 3, f'expected 3 rows, got {len(output)}'
"#;

#[tokio::test]
async fn a_failing_test_fails_the_block_with_its_message() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    write_pipeline_files(
        dir.path(),
        "tested",
        "name: tested\nblocks:\n  - {name: load, kind: python, config: {file: pipelines/tested/load.py}}\n  - {name: after, kind: noop, upstream: [load]}\n",
        &[("load.py", FAILING_TEST)],
    );
    let (status, _, blocks) = run(&p, "tested", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let load = block(&blocks, "load");
    assert_eq!(load.status, "failed");
    let error = load.error.clone().unwrap();
    assert!(
        error.contains("@test test_row_count failed: AssertionError: expected 3 rows, got 2"),
        "{error}"
    );
    assert!(
        error.contains("load.py\", line 16, in test_row_count"),
        "{error}"
    );
    assert_eq!(block(&blocks, "after").status, "upstream_failed");
}

const LOAD_TWO_ROWS: &str = r#"
import pandas as pd
if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader


@data_loader
def load(*args, **kwargs):
    return pd.DataFrame({'x': [0.0, 1.0, 2.0, 3.0], 'y': [0, 0, 1, 1]})
"#;

/// A training block that returns what `kind` names: `text`, a table, a dict without a model,
/// or a model where none is wanted.
const TRAIN_RETURNS: &str = r#"
if 'custom' not in globals():
    from mage_ai.data_preparation.decorators import custom


@custom
def train(df, *args, **kwargs):
    kind = kwargs['returns']
    if kind == 'text':
        return 'trained!'
    if kind == 'table':
        return df
    if kind == 'dict':
        return {'metrics': {'auc_score': 0.9}}
    from sklearn.tree import DecisionTreeClassifier
    return DecisionTreeClassifier().fit(df[['x']], df['y'])
"#;

#[tokio::test]
async fn a_block_that_must_return_a_model_and_does_not_fails_saying_what_to_return() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    let files = [("load.py", LOAD_TWO_ROWS), ("train.py", TRAIN_RETURNS)];
    write_pipeline_files(
        dir.path(),
        "not_a_model",
        "name: not_a_model\nvariables: {returns: text}\nblocks:\n  - {name: load, kind: python, config: {file: pipelines/not_a_model/load.py, label: y}}\n  - {name: train, kind: python, upstream: [load], config: {file: pipelines/not_a_model/train.py}}\n  - {name: registry, kind: register_model, upstream: [train], config: {model: nope}}\n",
        &files,
    );
    let usage = "return a fitted model (an object with a predict method), or a dict {'model': model, 'metrics': {...}, 'params': {...}}";
    for (returns, says) in [
        (
            "text",
            "train() returned a str, which is not a model, and a block downstream takes one",
        ),
        (
            "table",
            "train() returned a DataFrame, which is not a model",
        ),
        (
            "dict",
            "train() returned a dict without a 'model' key (keys: ['metrics'])",
        ),
    ] {
        let (status, _, blocks) = run(&p, "not_a_model", json!({"returns": returns})).await;
        assert_eq!(status, RunStatus::Failed, "{returns}");
        let train = block(&blocks, "train");
        assert_eq!(train.status, "failed", "{returns}");
        let error = train.error.clone().unwrap();
        assert!(error.contains(says), "{returns}: {error}");
        assert!(error.contains(usage), "{returns}: {error}");
        assert_eq!(block(&blocks, "registry").status, "upstream_failed");
    }
    assert!(p
        .registry
        .read()
        .versions("nope")
        .await
        .unwrap_or_default()
        .is_empty());

    // The other way round: a model where a table is wanted names the block to add.
    write_pipeline_files(
        dir.path(),
        "stray_model",
        "name: stray_model\nvariables: {returns: model}\nblocks:\n  - {name: load, kind: python, config: {file: pipelines/stray_model/load.py, label: y}}\n  - {name: train, kind: python, upstream: [load], config: {file: pipelines/stray_model/train.py}}\n",
        &files,
    );
    let (status, _, blocks) = run(&p, "stray_model", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let error = block(&blocks, "train").error.clone().unwrap();
    assert!(
        error.contains("the block returned a model (sklearn.tree._classes.DecisionTreeClassifier) but no block downstream takes one: put a register_model (or evaluate) block downstream of it"),
        "{error}"
    );
}

const HANGS: &str = r#"
import os, time
if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader


@data_loader
def load(*args, **kwargs):
    print('pid', os.getpid(), flush=True)
    time.sleep(120)
"#;

#[tokio::test]
async fn a_hanging_block_is_killed_by_its_timeout() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    write_pipeline_files(
        dir.path(),
        "hangs",
        "name: hangs\nblocks:\n  - {name: load, kind: python, timeout_secs: 3, config: {file: pipelines/hangs/load.py}}\n",
        &[("load.py", HANGS)],
    );
    let started = std::time::Instant::now();
    let (status, _, blocks) = run(&p, "hangs", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let load = block(&blocks, "load");
    assert!(
        load.error
            .as_deref()
            .unwrap()
            .contains("timed out after 3.0 s"),
        "{:?}",
        load.error
    );
    let pid = runner_pid(load);
    assert!(
        load.logs.iter().any(|l| l == &format!("pid {pid}")),
        "{:?}",
        load.logs
    );
    assert!(
        gone(pid).await,
        "the hanging runner (pid {pid}) was not killed"
    );
}

const RAISES: &str = r#"
if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer


def ratio(a, b):
    return a / b


@transformer
def transform(df, *args, **kwargs):
    print('about to divide')
    df['r'] = ratio(1, 0)
    return df
"#;

const ABORTS: &str = r#"
import os
if 'custom' not in globals():
    from mage_ai.data_preparation.decorators import custom


@custom
def crash(*args, **kwargs):
    os.abort()
"#;

const LOADS: &str = r#"
if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
import pandas as pd


@data_loader
def load():
    return pd.DataFrame({'x': [1.0, 2.0]})
"#;

#[tokio::test]
async fn an_exception_or_a_crash_reports_the_python_traceback() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    write_pipeline_files(
        dir.path(),
        "raises",
        "name: raises\nblocks:\n  - {name: load, kind: python, config: {file: pipelines/raises/load.py}}\n  - {name: divide, kind: python, upstream: [load], config: {file: pipelines/raises/divide.py}}\n",
        &[("load.py", LOADS), ("divide.py", RAISES)],
    );
    let (status, _, blocks) = run(&p, "raises", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let divide = block(&blocks, "divide");
    let error = divide.error.clone().unwrap();
    assert!(
        error.starts_with("transform: ZeroDivisionError: division by zero"),
        "{error}"
    );
    assert!(
        error.contains("Traceback (most recent call last):"),
        "{error}"
    );
    assert!(
        error.contains("divide.py\", line 13, in transform"),
        "{error}"
    );
    assert!(error.contains("divide.py\", line 7, in ratio"), "{error}");
    assert!(
        !error.contains("<string>"),
        "the runner's own frames are left out: {error}"
    );
    let logs = divide.logs.join("\n");
    assert!(
        logs.contains("about to divide") && logs.contains("ZeroDivisionError"),
        "{logs}"
    );
    assert_eq!(
        runner_pid(divide),
        runner_pid(block(&blocks, "load")),
        "an exception leaves the runner usable"
    );

    write_pipeline_files(
        dir.path(),
        "aborts",
        "name: aborts\nblocks:\n  - {name: crash, kind: python, config: {file: pipelines/aborts/crash.py}}\n",
        &[("crash.py", ABORTS)],
    );
    let (status, _, blocks) = run(&p, "aborts", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let error = block(&blocks, "crash").error.clone().unwrap();
    assert!(
        error.contains("was killed by signal 6 (SIGABRT)"),
        "{error}"
    );
    assert!(
        error.contains("crash.py\", line 9 in crash"),
        "faulthandler's stack: {error}"
    );
}

#[tokio::test]
async fn a_python_without_pandas_or_pyarrow_is_told_what_to_install() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("bare-venv");
    let made = std::process::Command::new(&python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(made.success());
    let p = platform(dir.path(), &bare.join("bin/python")).await;
    write_pipeline_files(
        dir.path(),
        "bare",
        "name: bare\nblocks:\n  - {name: load, kind: python, config: {file: pipelines/bare/load.py}}\n",
        &[("load.py", LOADS)],
    );
    let (status, _, blocks) = run(&p, "bare", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let error = block(&blocks, "load").error.clone().unwrap();
    assert!(
        error.contains("Python blocks need pandas and pyarrow")
            && error.contains("-m pip install pandas pyarrow")
            && error.contains("IRONMAGE_PYTHON"),
        "{error}"
    );
}

const GENERATE: &str = r#"
import numpy as np
import pandas as pd

if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader


@data_loader
def generate(*args, **kwargs):
    rows = int(kwargs['rows'])
    rng = np.random.default_rng(0)
    columns = {f'x{i}': rng.random(rows) for i in range(8)}
    columns['city'] = rng.choice(['London', 'Paris', 'Zürich', None], rows)
    columns['label'] = rng.integers(0, 2, rows)
    return pd.DataFrame(columns)
"#;

const PASS: &str = r#"
if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer


@transformer
def same(df, *args, **kwargs):
    return df
"#;

const NOTHING: &str = r#"
if 'custom' not in globals():
    from mage_ai.data_preparation.decorators import custom


@custom
def nothing(*args, **kwargs):
    return None
"#;

/// Figures: the hand-over of 100k and 1M rows × 10 columns (8 float, 1 text, 1 integer) both
/// ways, and the time of a Python block that does nothing on a reused runner, against a `noop`
/// block. Run with `cargo nextest run -p ironmage-core --run-ignored only python_block_figures
/// --no-capture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: prints figures"]
async fn python_block_figures() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), &python).await;
    write_pipeline_files(
        dir.path(),
        "handover",
        "name: handover\nvariables: {rows: 1000}\nblocks:\n  - {name: generate, kind: python, config: {file: pipelines/handover/generate.py}}\n  - {name: same, kind: python, upstream: [generate], config: {file: pipelines/handover/same.py}}\n",
        &[("generate.py", GENERATE), ("same.py", PASS)],
    );
    for rows in [100_000, 1_000_000] {
        let (status, _, blocks) = run(&p, "handover", json!({"rows": rows})).await;
        assert_eq!(status, RunStatus::Success);
        let line = block(&blocks, "same")
            .logs
            .iter()
            .find(|l| l.contains("ran in"))
            .unwrap()
            .clone();
        println!("{rows} rows x 10 columns, the `same` block: {line}");
    }

    let chain = |kind: &str| {
        let mut yaml = format!("name: chain_{kind}\nblocks:\n");
        for i in 0..21 {
            let upstream = if i == 0 {
                String::new()
            } else {
                format!(", upstream: [b{}]", i - 1)
            };
            let config = if kind == "python" {
                ", config: {file: pipelines/chain_python/nothing.py}"
            } else {
                ""
            };
            yaml.push_str(&format!(
                "  - {{name: b{i}, kind: {kind}{upstream}{config}}}\n"
            ));
        }
        yaml
    };
    for kind in ["python", "noop"] {
        write_pipeline_files(
            dir.path(),
            &format!("chain_{kind}"),
            &chain(kind),
            &[("nothing.py", NOTHING)],
        );
        let elapsed = std::sync::Mutex::new(Vec::new());
        let run = p
            .runs
            .create_run(&format!("chain_{kind}"), Map::new(), "test")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let outcome = p
            .runs
            .execute_run(&run.id, "test", &|progress| {
                if let ironmage_core::pipeline::Progress::Finished { elapsed: e, .. } = progress {
                    elapsed.lock().unwrap().push(*e);
                }
            })
            .await
            .unwrap()
            .unwrap();
        let total = started.elapsed();
        assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
        let mut times = elapsed.into_inner().unwrap();
        let first = times.remove(0);
        times.sort();
        println!(
            "{kind}: first block {:.1} ms, next 20 blocks median {:.1} ms (min {:.1}, max {:.1}), run of 21 blocks {:.0} ms",
            first.as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
        );
    }
}
