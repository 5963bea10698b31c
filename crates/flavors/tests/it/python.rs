//! MLflow models saved by the real libraries (tests/python/make_pyfunc_models.py), served by
//! Python worker processes: predictions as `mlflow.pyfunc.load_model(dir).predict` gives them,
//! merged concurrent requests, model errors, crashes, timeouts, requirements, clean shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ironmage_flavors::python::{PythonConfig, PythonError, PythonModel, RequirementStatus};
use serde_json::{json, Value};

use crate::common::python::{python, script_output};

/// Both sides compute in float64; JSON keeps every digit.
const TOLERANCE: f64 = 1e-6;

struct Fixture {
    python: PathBuf,
    models: PathBuf,
}

fn fixture() -> Option<Fixture> {
    Some(Fixture {
        python: python()?,
        models: script_output("make_pyfunc_models.py", &[])?,
    })
}

impl Fixture {
    fn config(&self, workers: usize) -> PythonConfig {
        PythonConfig {
            interpreter: self.python.clone(),
            workers,
            ..PythonConfig::default()
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.models.join(name)
    }

    async fn start(&self, name: &str, config: PythonConfig) -> PythonModel {
        PythonModel::start(config, &self.dir(name))
            .await
            .unwrap_or_else(|e| panic!("start {name}: {e}"))
    }

    fn expected(&self) -> Value {
        let text = std::fs::read_to_string(self.models.join("expected.json")).expect("read");
        serde_json::from_str(&text).expect("parse expected.json")
    }
}

fn columns(names: &[&str]) -> Arc<[String]> {
    names.iter().map(|s| s.to_string()).collect()
}

fn case_columns(case: &Value) -> Arc<[String]> {
    case["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn case_rows(case: &Value) -> Vec<Vec<Value>> {
    case["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().clone())
        .collect()
}

/// Whether two JSON values agree, numbers within [`TOLERANCE`]; the path of the first
/// difference otherwise.
fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= TOLERANCE {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, &format!("{path}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().try_for_each(|(k, v)| {
                same(v, y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

fn assert_same(a: &[Value], b: &Value, what: &str) {
    if let Err(e) = same(&Value::Array(a.to_vec()), b, what) {
        panic!("{e}");
    }
}

fn x_rows(xs: &[f64]) -> Vec<Vec<Value>> {
    xs.iter().map(|&x| vec![json!(x)]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_predict_as_mlflow_does() {
    let Some(fx) = fixture() else { return };
    let expected = fx.expected();
    let cases = expected.as_object().unwrap();
    assert!(cases.contains_key("sk_logreg") && cases.contains_key("frame"));
    for (name, case) in cases {
        let model = fx.start(name, fx.config(1)).await;
        let columns = case_columns(case);
        let rows = case_rows(case);
        let values = model.predict(columns.clone(), rows.clone()).await.unwrap();
        assert_same(&values, &case["expected"], name);
        // One row alone gives the same as within the batch.
        for i in [0, 17, rows.len() - 1] {
            let one = model
                .predict(columns.clone(), vec![rows[i].clone()])
                .await
                .unwrap();
            assert_same(
                &one,
                &json!([case["expected"][i]]),
                &format!("{name} row {i}"),
            );
        }
        model.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_reports_the_interpreter_the_model_and_its_requirements() {
    let Some(fx) = fixture() else { return };
    let model = fx.start("sk_logreg", fx.config(1)).await;
    let info = model.info();
    assert_eq!(info.interpreter, fx.python);
    assert!(info.python_version.starts_with("3."), "{info:?}");
    assert_eq!(info.mlflow_version.as_deref(), Some("3.17.2"));
    assert!(info.flavors.iter().any(|f| f == "sklearn"), "{info:?}");
    assert_eq!(info.loader_module.as_deref(), Some("mlflow.sklearn"));
    assert_eq!(info.input_schema.as_ref().unwrap()[0]["name"], "f0");
    assert!(info.recorded_python.is_some());
    let sklearn = info
        .requirements
        .iter()
        .find(|r| r.name.as_deref() == Some("scikit-learn"))
        .expect("scikit-learn is recorded");
    assert_eq!(sklearn.status, RequirementStatus::Satisfied);
    assert_eq!(sklearn.source, "requirements.txt");
    assert_eq!(
        info.missing().count() + info.mismatched().count(),
        0,
        "{info:?}"
    );
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_are_cast_to_the_signature_types() {
    let Some(fx) = fixture() else { return };
    let model = fx.start("sk_forest", fx.config(1)).await;
    let columns = columns(&["f0", "f1", "f2", "count"]);
    let floats = vec![vec![json!(1.0), json!(-2.0), json!(0.0), json!(3)]];
    let ints = vec![vec![json!(1), json!(-2), json!(0), json!(3)]];
    // `count` is a long: an integral double is accepted as one.
    let mixed = vec![vec![json!(1), json!(-2.0), json!(0), json!(3.0)]];
    let a = model.predict(columns.clone(), floats).await.unwrap();
    let b = model.predict(columns.clone(), ints).await.unwrap();
    let c = model.predict(columns.clone(), mixed).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    // A fractional count is the model's error, with MLflow's message.
    let err = model
        .predict(
            columns,
            vec![vec![json!(1), json!(2), json!(3), json!(4.5)]],
        )
        .await
        .unwrap_err();
    assert!(err.is_model_error(), "{err}");
    assert!(err.to_string().contains("count"), "{err}");
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_get_their_own_rows_in_order() {
    let Some(fx) = fixture() else { return };
    let case = fx.expected()["sk_forest"].clone();
    let model = Arc::new(fx.start("sk_forest", fx.config(2)).await);
    let columns = case_columns(&case);
    let rows = case_rows(&case);
    let n = rows.len();
    let tasks: Vec<_> = (0..64)
        .map(|task| {
            let model = model.clone();
            let columns = columns.clone();
            // Task t asks for 1 to 3 consecutive rows starting at its own offset.
            let picked: Vec<usize> = (0..1 + task % 3).map(|k| (task * 7 + k) % n).collect();
            let request = picked.iter().map(|&i| rows[i].clone()).collect();
            tokio::spawn(async move { (picked, model.predict(columns, request).await) })
        })
        .collect();
    for task in tasks {
        let (picked, result) = task.await.unwrap();
        let values = result.unwrap();
        let expected: Vec<Value> = picked
            .iter()
            .map(|&i| case["expected"][i].clone())
            .collect();
        assert_same(
            &values,
            &Value::Array(expected),
            &format!("rows {picked:?}"),
        );
    }
    let stats = model.stats();
    assert_eq!(stats.requests, 64);
    assert!(
        stats.batches < stats.requests && stats.largest_batch_rows > 3,
        "requests were not merged: {stats:?}"
    );
    assert!(stats.mean_rows_per_batch > 1.0, "{stats:?}");
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_error_fails_only_its_own_request() {
    let Some(fx) = fixture() else { return };
    let model = Arc::new(fx.start("echo", fx.config(1)).await);
    let x = columns(&["x"]);
    // A slow request holds the only worker, so the next ones queue up and are merged.
    let slow = {
        let (model, x) = (model.clone(), x.clone());
        tokio::spawn(async move { model.predict(x, x_rows(&[7777.0])).await })
    };
    wait_for(|| model.stats().busy_workers == 1, "the slow request").await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let model = model.clone();
            let x = x.clone();
            let value = if i == 9 { -1.0 } else { i as f64 };
            tokio::spawn(async move { (value, model.predict(x, x_rows(&[value, 0.5])).await) })
        })
        .collect();
    wait_for(
        || model.stats().queued_requests == 24,
        "the queued requests",
    )
    .await;
    assert_eq!(slow.await.unwrap().unwrap(), vec![json!(15554.0)]);
    for task in tasks {
        let (value, result) = task.await.unwrap();
        if value < 0.0 {
            let err = result.unwrap_err();
            assert!(err.is_model_error(), "{err:?}");
            assert!(
                matches!(&err, PythonError::Predict { message }
                    if message.contains("ValueError: x must not be negative")),
                "{err}"
            );
        } else {
            assert_eq!(result.unwrap(), vec![json!(value * 2.0), json!(1.0)]);
        }
    }
    let stats = model.stats();
    assert_eq!(stats.model_errors, 1, "{stats:?}");
    assert_eq!(stats.worker_crashes, 0, "{stats:?}");
    // The slow call, the merged batch that failed, then each request alone.
    assert_eq!(stats.batches, 1 + 1 + 24, "{stats:?}");
    assert_eq!(stats.largest_batch_rows, 48, "{stats:?}");
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_worker_fails_its_request_and_is_replaced() {
    let Some(fx) = fixture() else { return };
    let model = fx.start("echo", fx.config(1)).await;
    let x = columns(&["x"]);
    let before = model.worker_pids();
    assert_eq!(before.len(), 1);

    let started = Instant::now();
    let err = model
        .predict(x.clone(), x_rows(&[666.0]))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!err.is_model_error());
    match &err {
        PythonError::WorkerCrashed { message } => {
            assert!(message.contains("exited with status 3"), "{message}")
        }
        other => panic!("expected WorkerCrashed, got {other:?}"),
    }
    // The next request waits for the replacement and succeeds.
    assert_eq!(
        model.predict(x.clone(), x_rows(&[2.0])).await.unwrap(),
        vec![json!(4.0)]
    );
    let after = model.worker_pids();
    assert_eq!(after.len(), 1);
    assert_ne!(before, after);

    // Killed from outside while idle: noticed and replaced before any request fails.
    kill(after[0]);
    wait_for(
        || model.stats().worker_restarts == 2,
        "the idle worker's restart",
    )
    .await;
    assert_eq!(
        model.predict(x, x_rows(&[3.0])).await.unwrap(),
        vec![json!(6.0)]
    );
    let stats = model.stats();
    assert_eq!(stats.worker_crashes, 2, "{stats:?}");
    assert_eq!(stats.worker_restarts, 2, "{stats:?}");
    assert_eq!(stats.live_workers, 1, "{stats:?}");
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_death_is_seen_while_a_forked_child_keeps_its_pipes() {
    let Some(fx) = fixture() else { return };
    let model = fx.start("echo", fx.config(1)).await;
    let x = columns(&["x"]);
    let started = Instant::now();
    let err = model
        .predict(x.clone(), x_rows(&[8888.0]))
        .await
        .unwrap_err();
    // Well before the child exits (5 s) or the predict timeout (30 s).
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, PythonError::WorkerCrashed { message } if message.contains("status 4")),
        "{err:?}"
    );
    assert_eq!(
        model.predict(x, x_rows(&[1.0])).await.unwrap(),
        vec![json!(2.0)]
    );
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_prediction_times_out_and_the_worker_is_replaced() {
    let Some(fx) = fixture() else { return };
    let config = PythonConfig {
        predict_timeout: Duration::from_secs(1),
        ..fx.config(1)
    };
    let model = fx.start("sleepy", config).await;
    let seconds = columns(&["seconds"]);
    let started = Instant::now();
    let err = model
        .predict(seconds.clone(), vec![vec![json!(60)]])
        .await
        .unwrap_err();
    assert!(matches!(err, PythonError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        model.predict(seconds, vec![vec![json!(0)]]).await.unwrap(),
        vec![json!(0)]
    );
    let stats = model.stats();
    assert_eq!((stats.timeouts, stats.worker_restarts), (1, 1), "{stats:?}");
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_overloaded() {
    let Some(fx) = fixture() else { return };
    let model = Arc::new(fx.start("sleepy", fx.config(1)).await);
    let seconds = columns(&["seconds"]);
    let slow = {
        let (model, seconds) = (model.clone(), seconds.clone());
        // Long enough to queue 4096 requests on a loaded machine.
        tokio::spawn(async move { model.predict(seconds, vec![vec![json!(4)]]).await })
    };
    wait_for(|| model.stats().busy_workers == 1, "the slow request").await;
    let waiting: Vec<_> = (0..4096)
        .map(|_| {
            let (model, seconds) = (model.clone(), seconds.clone());
            tokio::spawn(async move { model.predict(seconds, vec![vec![json!(0)]]).await })
        })
        .collect();
    wait_for(|| model.stats().queued_requests == 4096, "a full queue").await;
    let err = model
        .predict(seconds, vec![vec![json!(0)]])
        .await
        .unwrap_err();
    assert!(matches!(err, PythonError::Overloaded), "{err:?}");
    slow.await.unwrap().unwrap();
    for task in waiting {
        task.await.unwrap().unwrap();
    }
    let stats = model.stats();
    assert_eq!(stats.overloaded, 1);
    assert!(stats.largest_batch_rows >= 1024, "{stats:?}");
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_that_cannot_load_are_load_errors() {
    let Some(fx) = fixture() else { return };
    let config = fx.config(1);
    let missing = PythonModel::start(config.clone(), &fx.dir("no_such_model"))
        .await
        .unwrap_err();
    assert!(matches!(missing, PythonError::Load { .. }), "{missing:?}");
    let not_a_model = PythonModel::start(config.clone(), &fx.models)
        .await
        .unwrap_err();
    assert!(
        matches!(&not_a_model, PythonError::Load { message } if message.contains("MLmodel")),
        "{not_a_model:?}"
    );
    let bad = PythonModel::start(config.clone(), &fx.dir("bad_loader"))
        .await
        .unwrap_err();
    assert!(
        matches!(&bad, PythonError::Load { message } if message.contains("ironmage_no_such_module")),
        "{bad:?}"
    );
    let no_python = PythonConfig {
        interpreter: PathBuf::from("/nonexistent/python3"),
        ..config
    };
    let err = PythonModel::start(no_python, &fx.dir("echo"))
        .await
        .unwrap_err();
    assert!(matches!(err, PythonError::Spawn { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_requirements_refuse_a_missing_package() {
    let Some(fx) = fixture() else { return };
    let strict = PythonConfig {
        strict_requirements: true,
        ..fx.config(2)
    };
    let err = PythonModel::start(strict, &fx.dir("strict"))
        .await
        .unwrap_err();
    match &err {
        PythonError::Requirements { missing } => assert_eq!(
            missing,
            &["ironmage-no-such-package==1.0.0 (not installed)".to_string()]
        ),
        other => panic!("expected Requirements, got {other:?}"),
    }
    // Without strict, the model serves and info tells what is missing.
    let model = fx.start("strict", fx.config(1)).await;
    let missing: Vec<_> = model.info().missing().map(|r| r.spec.clone()).collect();
    assert_eq!(missing, ["ironmage-no-such-package==1.0.0"]);
    model.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_worker_process_outlives_shutdown_or_drop() {
    let Some(fx) = fixture() else { return };
    let model = fx.start("echo", fx.config(2)).await;
    let pids = model.worker_pids();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&p| running(p)));
    model.shutdown().await;
    assert!(pids.iter().all(|&p| !running(p)), "{pids:?} still run");
    let err = model
        .predict(columns(&["x"]), x_rows(&[1.0]))
        .await
        .unwrap_err();
    assert!(matches!(err, PythonError::ShutDown), "{err:?}");

    let model = fx.start("echo", fx.config(2)).await;
    let pids = model.worker_pids();
    let clone = model.clone();
    drop(model);
    assert!(pids.iter().all(|&p| running(p)), "a clone keeps the pool");
    drop(clone);
    wait_for(
        || pids.iter().all(|&p| !running(p)),
        "the workers to die after drop",
    )
    .await;
}

/// Whether process `pid` exists and is not a zombie.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

fn kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

async fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
