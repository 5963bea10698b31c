//! Throughput and latency of a scikit-learn pipeline served by two Python workers, with 16
//! concurrent callers sending 1-row requests, merged into batches or not (ignored: run with
//! `cargo test --release -p ironmage-flavors --test it -- --ignored python_bench --nocapture`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ironmage_flavors::python::{PythonConfig, PythonModel};
use serde_json::Value;

use crate::common::python::{python, script_output};

const CALLERS: usize = 16;
const RUN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures, asserts nothing about speed"]
async fn python_bench_batched_vs_unbatched() {
    let (Some(python), Some(models)) = (python(), script_output("make_pyfunc_models.py", &[]))
    else {
        return;
    };
    let text = std::fs::read_to_string(models.join("expected.json")).expect("read");
    let expected: Value = serde_json::from_str(&text).unwrap();
    let case = &expected["sk_logreg"];
    let columns: Arc<[String]> = case["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let rows: Arc<Vec<Vec<Value>>> = Arc::new(
        case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().clone())
            .collect(),
    );
    for (label, max_batch_rows, window) in [
        (
            "batched (max_batch_rows 1024, window 2 ms)",
            1024,
            Duration::from_millis(2),
        ),
        (
            "batched (max_batch_rows 1024, no window)",
            1024,
            Duration::ZERO,
        ),
        ("unbatched (max_batch_rows 1)", 1, Duration::ZERO),
    ] {
        let config = PythonConfig {
            interpreter: python.clone(),
            workers: 2,
            max_batch_rows,
            batch_window: window,
            ..PythonConfig::default()
        };
        let model = Arc::new(
            PythonModel::start(config, &models.join("sk_logreg"))
                .await
                .expect("start"),
        );
        // Warm up both workers.
        for _ in 0..20 {
            model
                .predict(columns.clone(), vec![rows[0].clone()])
                .await
                .unwrap();
        }
        let started = Instant::now();
        let callers: Vec<_> = (0..CALLERS)
            .map(|c| {
                let (model, columns, rows) = (model.clone(), columns.clone(), rows.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut i = c;
                    while started.elapsed() < RUN {
                        let sent = Instant::now();
                        let row = rows[i % rows.len()].clone();
                        model.predict(columns.clone(), vec![row]).await.unwrap();
                        latencies.push(sent.elapsed());
                        i += CALLERS;
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for caller in callers {
            latencies.extend(caller.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        let stats = model.stats();
        println!(
            "{label}: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} rows per model call",
            latencies.len() as f64 / elapsed,
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            stats.mean_rows_per_batch,
        );
        model.shutdown().await;
    }
}
