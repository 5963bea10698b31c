//! Models trained in Python and logged with the official mlflow client are served by the
//! prediction service: ONNX, LightGBM and XGBoost natively, a scikit-learn pipeline through
//! Python workers; answers equal the libraries' own.
//!
//! Needs the test interpreter (`IRONMAGE_TEST_PYTHON`, with mlflow, scikit-learn, skl2onnx,
//! LightGBM and XGBoost); without it the test says so and passes, except in CI.

use crate::common::TestStack;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn python() -> Option<PathBuf> {
    match std::env::var("IRONMAGE_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(PathBuf::from(p.trim())),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") => {
            panic!("IRONMAGE_TEST_PYTHON is not set and CI is: the serving tests must run")
        }
        _ => {
            eprintln!("SKIPPED: IRONMAGE_TEST_PYTHON is not set");
            None
        }
    }
}

/// Run `tests/python/log_models.py` against the stack's MLflow API; what the libraries
/// predicted, by model name.
async fn log_models(python: PathBuf, t: &TestStack) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/log_models.py");
    let out = t.dir.path().join("expected.json");
    let (web, out_path) = (t.web.clone(), out.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(web)
            .arg(out_path)
            .env("GIT_PYTHON_REFRESH", "quiet")
            .env("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "log_models.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// Wait until `/models/{name}` answers (the swapper loaded its Production version).
async fn wait_loaded(t: &TestStack, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, info) = t.get(&format!("{}/models/{name}", t.predict)).await;
        if status == 200 {
            return info;
        }
        assert!(Instant::now() < deadline, "{name} never loaded: {info}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn models_logged_with_the_mlflow_client_are_served_as_the_libraries_predict() {
    let Some(python) = python() else { return };
    let t = TestStack::start_serving("sk-pipeline").await;
    let expected = log_models(python, &t).await;
    for (name, flavor, native, tolerance) in [
        ("sk-pipeline", "python_function", false, 1e-6),
        ("sk-onnx", "onnx", true, 1e-5),
        ("lgb-booster", "lightgbm", true, 1e-6),
        ("xgb-classifier", "xgboost", true, 1e-6),
    ] {
        let info = wait_loaded(&t, name).await;
        assert_eq!(
            (info["flavor"].as_str(), info["native"].as_bool()),
            (Some(flavor), Some(native)),
            "{info}"
        );
        assert_eq!(info["model_stage"], "Production", "{info}");
        let e = &expected[name];
        let data = if e["tensor"] == true {
            &e["matrix"]
        } else {
            &e["rows"]
        };
        let (status, answer) = t
            .post(
                &format!("{}/models/{name}/predict", t.predict),
                &json!({"data": data}),
            )
            .await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(
            (answer["model_name"].as_str(), answer["stage"].as_str()),
            (Some(name), Some("Production"))
        );
        assert_eq!(answer["version"], e["version"], "{answer}");
        let predictions = answer["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), e["expected"].as_array().unwrap().len());
        for (i, p) in predictions.iter().enumerate() {
            let want = &e["expected"][i];
            assert!(
                close(
                    p["prediction"].as_f64().unwrap(),
                    want.as_f64().unwrap(),
                    0.0
                ),
                "{name} row {i}: {} != {want}",
                p["prediction"]
            );
            if let Some(probabilities) = e["probabilities"][i].as_array() {
                for (class, want) in probabilities.iter().enumerate() {
                    let got = p["probability"][class.to_string()].as_f64().unwrap();
                    assert!(
                        close(got, want.as_f64().unwrap(), tolerance),
                        "{name} row {i} class {class}: {got} != {want}"
                    );
                }
            }
        }
        // Every answer is logged and can be looked up by its id.
        let id = predictions[0]["prediction_id"].as_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (status, logged) = t.get(&format!("{}/predictions/{id}", t.predict)).await;
            if status == 200 {
                assert_eq!(logged["model"], name, "{logged}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prediction {id} never logged: {logged}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Seed 002's contract on the default model: `/`, `/model/info` and a body whose feature
    // names use `_` where the model's have `-`.
    let (status, root) = t.get(&format!("{}/", t.predict)).await;
    assert_eq!(
        (status, root["status"].as_str()),
        (200, Some("ok")),
        "{root}"
    );
    let (_, info) = t.get(&format!("{}/model/info", t.predict)).await;
    assert_eq!(info["model_stage"], "Production", "{info}");
    let mut row = expected["sk-pipeline"]["rows"][0].clone();
    let value = row
        .as_object_mut()
        .unwrap()
        .remove("NumberOfTime30-59DaysPastDueNotWorse")
        .unwrap();
    row["NumberOfTime30_59DaysPastDueNotWorse"] = value;
    let (status, answer) = t.post(&format!("{}/predict", t.predict), &row).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["prediction"], expected["sk-pipeline"]["expected"][0],
        "{answer}"
    );
    assert_eq!(answer["model_stage"], "Production");
    // The Python workers' counters in the model's description are live, not the load's.
    let (_, info) = t.get(&format!("{}/models/sk-pipeline", t.predict)).await;
    let stats = &info["details"]["stats"];
    assert!(
        stats["rows"].as_u64().unwrap()
            > expected["sk-pipeline"]["rows"].as_array().unwrap().len() as u64,
        "{stats}"
    );

    // Seed 003's routes.
    let (status, _) = t
        .get(&format!("{}/models/sk-onnx/production", t.predict))
        .await;
    assert_eq!(status, 200);
    let (status, versions) = t
        .get(&format!("{}/models/sk-onnx/versions", t.predict))
        .await;
    assert_eq!(
        (status, versions["versions"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (status, none) = t
        .get(&format!("{}/models/nope/production", t.predict))
        .await;
    assert_eq!(status, 404, "{none}");
    let (status, none) = t
        .post(
            &format!("{}/models/sk-onnx/predict", t.predict),
            &json!({"data": expected["sk-onnx"]["matrix"], "use_staging": true}),
        )
        .await;
    assert_eq!(
        (status, none["code"].as_str()),
        (404, Some("not_found")),
        "{none}"
    );
    // A version by number is loaded on demand and answers the same.
    let (status, by_number) = t
        .post(
            &format!("{}/models/xgb-classifier/predict?version=1", t.predict),
            &json!({"data": expected["xgb-classifier"]["rows"][0]}),
        )
        .await;
    assert_eq!(status, 200, "{by_number}");
    assert_eq!(
        by_number["prediction"],
        expected["xgb-classifier"]["expected"][0]
    );
    t.stack.stop().await;
}
