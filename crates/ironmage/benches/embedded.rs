//! The embedded default under load, measured from outside like a user would see it.
//!
//! Starts `ironmage up --demo` as its own process on free loopback ports, then reports:
//! the demo run's duration, peak RSS idle with the demo model loaded, /predict latency
//! (p50/p99) and throughput with concurrent keep-alive clients, peak RSS under that load, a
//! retrain + hot swap under load (time from run end to first answer from the new version, and
//! failed requests), and in-process scoring time for one row.
//!
//! Run: `cargo bench -p ironmage --bench embedded` (release build).

#[path = "../tests/it/cluster/mod.rs"]
mod cluster;

use cluster::{free_port, rss_mib};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CUSTOMER: &str = r#"{"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3, "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8, "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}"#;
const CLIENTS: usize = 16;
const LOAD_SECONDS: u64 = 10;

struct Server {
    child: Child,
    web: String,
    predict: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (web_port, predict_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_ironmage"))
        .args(["up", "--demo"])
        .env("IRONMAGE_DATA_DIR", dir.path().join("data"))
        .env("IRONMAGE_PROJECT_DIR", dir.path().join("project"))
        .env("IRONMAGE_WEB_ADDR", format!("127.0.0.1:{web_port}"))
        .env("IRONMAGE_PREDICT_ADDR", format!("127.0.0.1:{predict_port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ironmage");
    Server {
        child,
        web: format!("http://127.0.0.1:{web_port}"),
        predict: format!("http://127.0.0.1:{predict_port}"),
        _dir: dir,
    }
}

async fn get(http: &reqwest::Client, url: &str) -> Option<Value> {
    http.get(url).send().await.ok()?.json().await.ok()
}

async fn wait_for<F: Fn(&Value) -> bool>(http: &reqwest::Client, url: &str, done: F) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = get(http, url).await {
            if done(&v) {
                return v;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting on {url}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let server = start();
    let pid = server.child.id();
    let http = reqwest::Client::new();
    println!("ironmage embedded default: one process, SQLite, in-process queue ({CLIENTS} clients, {LOAD_SECONDS} s load)");

    let health = wait_for(&http, &format!("{}/health", server.predict), |h| {
        h["version"].is_string()
    })
    .await;
    let runs = wait_for(&http, &format!("{}/api/runs", server.web), |r| {
        r["runs"][0]["status"] == "success"
    })
    .await;
    let run = &runs["runs"][0];
    println!(
        "demo_mlops run (1000 rows, 100 trees, depth 10): {:.0} ms  [{}]",
        millis_between(run),
        health["version"]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss, peak) = rss_mib(pid);
    println!("RSS idle with the demo model loaded: {rss:.1} MiB (peak so far {peak:.1} MiB)");

    // Load: keep-alive clients predicting as fast as they can.
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, url, stop, failed) = (
                http.clone(),
                format!("{}/predict", server.predict),
                stop.clone(),
                failed.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut versions = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(CUSTOMER)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => {
                            let body: Value = r.json().await.unwrap_or(Value::Null);
                            latencies.push(started.elapsed().as_micros() as u64);
                            let v = body["model_version"].as_str().unwrap_or("").to_string();
                            if versions
                                .last()
                                .map(|(last, _): &(String, chrono::DateTime<chrono::Utc>)| {
                                    last != &v
                                })
                                .unwrap_or(true)
                            {
                                versions.push((v, chrono::Utc::now()));
                            }
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                (latencies, versions)
            })
        })
        .collect();
    let load_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(LOAD_SECONDS / 2)).await;

    // Retrain on other data while the load runs; time the swap as clients see it.
    let answer: Value = http
        .post(format!("{}/api/pipelines/demo_mlops/runs", server.web))
        .json(&json!({"variables": {"seed": 7}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_url = format!(
        "{}/api/runs/{}",
        server.web,
        answer["run_id"].as_str().unwrap()
    );
    let retrain = wait_for(&http, &run_url, |r| r["status"] == "success").await;
    let new_label = retrain["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(
        (load_started + Duration::from_secs(LOAD_SECONDS))
            .saturating_duration_since(Instant::now()),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = load_started.elapsed().as_secs_f64();
    let (_, peak_load) = rss_mib(pid);

    let mut all = Vec::new();
    let mut first_new: Option<chrono::DateTime<chrono::Utc>> = None;
    for c in clients {
        let (lat, versions) = c.await.unwrap();
        all.extend(lat);
        for (v, at) in versions {
            if v == new_label {
                first_new = Some(first_new.map_or(at, |f| f.min(at)));
            }
        }
    }
    all.sort_unstable();
    println!(
        "/predict over loopback HTTP: {} requests in {elapsed:.1} s = {:.0} req/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 1.0)
    );
    println!(
        "failed requests during the load and the hot swap: {}",
        failed.load(Ordering::Relaxed)
    );
    match first_new {
        Some(at) => println!(
            "retrain under load: run took {:.0} ms; first answer from the new version {:.0} ms after the run was recorded as ended (negative: before)",
            millis_between(&retrain),
            (at - ended_at(&retrain)).num_microseconds().unwrap_or(0) as f64 / 1000.0
        ),
        None => println!("retrain under load: the new version {new_label} was never served"),
    }
    println!("peak RSS under load (incl. training a new model): {peak_load:.1} MiB   (reference: `mage run` peaks at 310 MiB on this machine kind)");
}

/// When a run ended, from its record.
fn ended_at(run: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(run["ended_at"].as_str().unwrap_or(""))
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// Milliseconds from a run's start to its end, from its record.
fn millis_between(run: &Value) -> f64 {
    let t = |k: &str| chrono::DateTime::parse_from_rfc3339(run[k].as_str().unwrap_or("")).ok();
    match (t("started_at"), t("ended_at")) {
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64,
        _ => f64::NAN,
    }
}
