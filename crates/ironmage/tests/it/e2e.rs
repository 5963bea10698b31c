//! The whole loop over real HTTP: trigger, train, register, deploy, serve, hot swap.

use crate::common::{customer, TestStack};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_loop_hot_swaps_without_a_failed_request() {
    let t = TestStack::start().await;
    let first = t.run_demo(json!({})).await;
    assert_eq!(first["status"], "success", "{first}");
    for block in first["blocks"].as_array().unwrap() {
        assert_eq!(block["status"], "success", "{block}");
        assert!(!block["logs"].as_array().unwrap().is_empty(), "{block}");
        assert!(block["preview"].is_object(), "{block}");
    }
    let v1 = first["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first["summary"]["model_version_number"], 1);
    assert!(first["summary"]["data_version"]
        .as_str()
        .unwrap()
        .starts_with("data_v_"));
    t.wait_serving(&v1).await;

    let (status, answer) = t.post(&format!("{}/predict", t.predict), &customer()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model_version"], v1.as_str());
    let p = &answer["probability"];
    let (churn, no_churn) = (
        p["churn"].as_f64().unwrap(),
        p["no_churn"].as_f64().unwrap(),
    );
    assert!((churn + no_churn - 1.0).abs() < 1e-9);
    assert!(matches!(
        answer["risk_level"].as_str(),
        Some("Low" | "Medium" | "High")
    ));
    assert_eq!(answer["prediction"], u8::from(churn > 0.5));
    assert!(answer["prediction_id"]
        .as_str()
        .is_some_and(|id| id.len() == 32));

    // A client keeps predicting while a retrain on other data lands and is swapped in.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (http, url, stop) = (
            t.http.clone(),
            format!("{}/predict", t.predict),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut seen: Vec<String> = Vec::new();
            let mut requests = 0;
            while !stop.load(Ordering::Relaxed) {
                let resp = http
                    .post(&url)
                    .json(&customer())
                    .send()
                    .await
                    .expect("request failed");
                assert_eq!(resp.status(), 200, "a request failed during the swap");
                let body: Value = resp.json().await.unwrap();
                let version = body["model_version"].as_str().unwrap().to_string();
                if seen.last() != Some(&version) {
                    seen.push(version);
                }
                requests += 1;
            }
            (seen, requests)
        })
    };
    let second = t.run_demo(json!({"seed": 7})).await;
    assert_eq!(second["status"], "success", "{second}");
    let v2 = second["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    assert_ne!(
        first["summary"]["data_hash"],
        second["summary"]["data_hash"]
    );
    let swapped_by = Instant::now() + Duration::from_secs(2);
    t.wait_serving(&v2).await;
    assert!(Instant::now() < swapped_by);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (seen, requests) = client.await.unwrap();
    assert_eq!(
        seen,
        vec![v1.clone(), v2.clone()],
        "versions seen in order over {requests} requests"
    );
    assert!(requests > 10, "only {requests} requests were made");

    // The registry archived v1; a rollback brings it back and the service follows.
    let (_, model) = t.get(&format!("{}/api/models/churn", t.web)).await;
    let stages: Vec<(i64, String)> = model["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["stage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        vec![(2, "Production".into()), (1, "Archived".into())]
    );
    let (status, body) = t
        .post(
            &format!("{}/api/models/churn/versions/1/transition", t.web),
            &json!({"stage": "production", "reason": "rollback in test"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.wait_serving(&v1).await;
    let (_, answer) = t.post(&format!("{}/predict", t.predict), &customer()).await;
    assert_eq!(answer["model_version"], v1.as_str());
    let (_, audit) = t
        .get(&format!("{}/api/models/churn/transitions", t.web))
        .await;
    let last = audit["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["version"].as_i64(),
            last["to_stage"].as_str(),
            last["reason"].as_str()
        ),
        (Some(1), Some("Production"), Some("rollback in test"))
    );

    // Lineage ties the served version to its run, data and code; predictions are counted.
    let (_, lineage) = t.get(&format!("{}/lineage", t.predict)).await;
    let l = &lineage["lineage"];
    assert_eq!(l["version"], v1.as_str());
    assert_eq!(l["run_id"], first["id"]);
    assert_eq!(l["data_lineage"]["hash"], first["summary"]["data_hash"]);
    assert_eq!(l["data_lineage"]["row_count"], 1000);
    assert_eq!(l["hyperparameters"]["n_estimators"], 100);
    assert_eq!(l["hyperparameters"]["max_depth"], 10);
    assert_eq!(l["hyperparameters"]["random_state"], 42);
    for key in ["git_commit", "git_branch", "git_status", "training_block"] {
        assert!(
            l["code_lineage"].get(key).is_some(),
            "{key} missing from {l}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, lineage) = t.get(&format!("{}/lineage", t.predict)).await;
        if lineage["lineage"]["predictions"]["count"].as_i64().unwrap() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "predictions of v1 were not logged: {lineage}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_gate_leaves_production_untouched_and_says_why() {
    let t = TestStack::start().await;
    let first = t.run_demo(json!({})).await;
    let v1 = first["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    let second = t.run_demo(json!({"seed": 3, "min_auc": 0.999})).await;
    assert_eq!(second["status"], "success", "{second}");
    let deployment = &second["summary"]["deployment"];
    assert_eq!(deployment["status"], "rejected");
    assert!(
        deployment["reason"].as_str().unwrap().contains("< 0.999"),
        "{deployment}"
    );
    let (_, model) = t.get(&format!("{}/api/models/churn", t.web)).await;
    assert_eq!(model["versions"][0]["stage"], "None");
    assert_eq!(model["versions"][1]["stage"], "Production");
    assert_eq!(model["deployments"][0]["status"], "rejected");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, health) = t.get(&format!("{}/health", t.predict)).await;
    assert_eq!(health["version"], v1.as_str());
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_fails_to_load_keeps_the_old_one_serving() {
    let t = TestStack::start().await;
    let first = t.run_demo(json!({})).await;
    let v1 = first["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    t.wait_serving(&v1).await;
    let second = t.run_demo(json!({"seed": 11, "min_auc": 0.999})).await;
    let (_, v2) = t
        .get(&format!("{}/api/models/churn/versions/2", t.web))
        .await;
    assert_eq!(second["summary"]["deployment"]["status"], "rejected");
    // Corrupt version 2's model file, then promote it.
    let reference = v2["artifacts"]["model"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_string();
    let path = t
        .dir
        .path()
        .join("data/artifacts/sha256")
        .join(&reference[..2])
        .join(&reference);
    std::fs::write(&path, b"not a model").unwrap();
    let (status, _) = t
        .post(
            &format!("{}/api/models/churn/versions/2/transition", t.web),
            &json!({"stage": "Production", "reason": "test"}),
        )
        .await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let health = loop {
        let (_, health) = t.get(&format!("{}/health", t.predict)).await;
        if health["status"] == "degraded" {
            break health;
        }
        assert!(Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(health["version"], v1.as_str());
    assert!(
        health["last_error"].as_str().unwrap().contains("corrupt"),
        "{health}"
    );
    let (status, answer) = t.post(&format!("{}/predict", t.predict), &customer()).await;
    assert_eq!(
        (status, answer["model_version"].as_str()),
        (200, Some(v1.as_str()))
    );
    let (status, reload) = t.post_raw(&format!("{}/reload", t.predict), "").await;
    assert_eq!(
        (status, reload["status"].as_str()),
        (503, Some("error")),
        "{reload}"
    );
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_data_and_seed_give_identical_models_and_metrics() {
    // Two independent installations, same seed: same data hash, same artifacts, same metrics.
    let (a, b) = (TestStack::start().await, TestStack::start().await);
    let (ra, rb) = (a.run_demo(json!({})).await, b.run_demo(json!({})).await);
    assert_eq!(ra["summary"]["data_hash"], rb["summary"]["data_hash"]);
    assert_eq!(ra["summary"]["metrics"], rb["summary"]["metrics"]);
    let (_, va) = a
        .get(&format!("{}/api/models/churn/versions/1", a.web))
        .await;
    let (_, vb) = b
        .get(&format!("{}/api/models/churn/versions/1", b.web))
        .await;
    assert_eq!(va["artifacts"], vb["artifacts"]);
    assert_eq!(va["metrics"], vb["metrics"]);
    // Same installation, same data again: the data version is reused, the model bytes repeat.
    let again = a.run_demo(json!({})).await;
    assert_eq!(
        again["summary"]["data_version"],
        ra["summary"]["data_version"]
    );
    let (_, v2) = a
        .get(&format!("{}/api/models/churn/versions/2", a.web))
        .await;
    assert_eq!(v2["artifacts"], va["artifacts"]);
    a.stack.stop().await;
    b.stack.stop().await;
}
