//! The production topology under a burst of work: 1,000 short runs for 2 executor processes on
//! the real PostgreSQL and Redis, and the memory of every role idle and under that load.
//!
//! Reports runs/s (first trigger to last end), trigger-to-start latency p50/p99 (a run's
//! `started_at` minus its `created_at`, both stamped by the store's clock) in the burst (where
//! it is mostly time spent waiting in the queue) and for runs triggered one at a time, and each
//! role's resident memory. Needs IRONMAGE_TEST_POSTGRES_URL and IRONMAGE_TEST_REDIS_URL (see
//! `scripts/services.sh`). Run: `cargo bench -p ironmage --bench topology`.

#[path = "../tests/it/cluster/mod.rs"]
mod cluster;

use cluster::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const RUNS: usize = 1000;
const TRIGGER_CONCURRENCY: usize = 16;

/// A one-block pipeline: ten synthetic rows, fingerprinted and versioned.
const TINY: &str = "name: tiny\nblocks:\n  - name: rows\n    kind: synthetic_churn\n    config: {rows: 10, seed: 1}\n";

fn time_of(run: &Value, key: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(run[key].as_str().unwrap_or(""))
        .map(|t| t.with_timezone(&chrono::Utc))
        .expect("a time")
}

fn memory_table(c: &Cluster, label: &str) {
    let rows: Vec<String> = c
        .roles
        .iter()
        .map(|r| {
            let (rss, peak) = rss_mib(r.child.id());
            format!("{} {rss:.1}/{peak:.1}", r.name)
        })
        .collect();
    println!("RSS/peak MiB {label}: {}", rows.join(", "));
}

#[tokio::main]
async fn main() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let mut c = Cluster::new(&pg, &redis, 9);
    let tiny = c.dir.path().join("project/pipelines/tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    std::fs::write(tiny.join("pipeline.yaml"), TINY).unwrap();
    let web = c.start("web", &["web"], &[("RUST_LOG", "warn")]).await;
    c.start("scheduler", &["scheduler"], &[("RUST_LOG", "warn")])
        .await;
    c.start(
        "executor-1",
        &["executor", "--concurrency", "2"],
        &[("RUST_LOG", "warn")],
    )
    .await;
    c.start(
        "executor-2",
        &["executor", "--concurrency", "2"],
        &[("RUST_LOG", "warn")],
    )
    .await;
    c.start("predict", &["predict"], &[("RUST_LOG", "warn")])
        .await;
    println!("production topology: web, scheduler, 2 executors (concurrency 2 each), prediction; PostgreSQL + Redis; {RUNS} one-block runs");
    tokio::time::sleep(Duration::from_secs(1)).await;
    memory_table(&c, "idle");

    let started = Instant::now();
    let url = format!("http://127.0.0.1:{web}/api/pipelines/tiny/runs");
    let mut ids = Vec::with_capacity(RUNS);
    for chunk in (0..RUNS).collect::<Vec<_>>().chunks(TRIGGER_CONCURRENCY) {
        let calls = chunk.iter().map(|_| http("POST", &url, Some("{}")));
        for answer in futures::future::join_all(calls).await {
            let (status, body) = answer.expect("web answers");
            assert_eq!(status, 202, "{body}");
            ids.push(body["run_id"].as_str().unwrap().to_string());
        }
    }
    let triggered = started.elapsed();
    let list = format!("http://127.0.0.1:{web}/api/runs?pipeline=tiny&limit=1000");
    let runs: Vec<Value> = wait_until!("every run to end", c, 600, {
        get_ok(&list).await.and_then(|r| {
            let runs = r["runs"].as_array().cloned().unwrap_or_default();
            (runs.len() == RUNS && runs.iter().all(|r| r["status"] == "success")).then_some(runs)
        })
    });
    memory_table(&c, "after the burst");

    let first_created = runs.iter().map(|r| time_of(r, "created_at")).min().unwrap();
    let last_ended = runs.iter().map(|r| time_of(r, "ended_at")).max().unwrap();
    let span = (last_ended - first_created).num_milliseconds() as f64 / 1000.0;
    let mut latency: Vec<f64> = runs
        .iter()
        .map(|r| {
            (time_of(r, "started_at") - time_of(r, "created_at"))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    let pct = |p: f64| latency[((latency.len() - 1) as f64 * p).round() as usize];
    let by_executor = |n: &str| {
        runs.iter()
            .filter(|r| {
                r["holder"].as_str().is_some_and(|h| {
                    h.contains(&format!(
                        "-{}-",
                        c.roles.iter().find(|x| x.name == n).unwrap().child.id()
                    ))
                })
            })
            .count()
    };
    println!(
        "triggered {RUNS} runs through the API in {:.2} s ({:.0} triggers/s)",
        triggered.as_secs_f64(),
        RUNS as f64 / triggered.as_secs_f64()
    );
    println!(
        "{RUNS} runs done in {span:.2} s = {:.0} runs/s (first trigger to last end)",
        RUNS as f64 / span
    );
    println!(
        "trigger-to-start latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "runs per executor: executor-1 {}, executor-2 {}",
        by_executor("executor-1"),
        by_executor("executor-2")
    );
    assert_eq!(ids.len(), RUNS);

    // The same latency without a queue: one run at a time, each waited for.
    let mut alone = Vec::with_capacity(SINGLE_RUNS);
    for _ in 0..SINGLE_RUNS {
        let (_, body) = http("POST", &url, Some("{}")).await.expect("web answers");
        let run_url = format!(
            "http://127.0.0.1:{web}/api/runs/{}",
            body["run_id"].as_str().unwrap()
        );
        let run = wait_until!(
            "a single run to end",
            c,
            60,
            get_ok(&run_url).await.filter(|r| r["status"] == "success")
        );
        alone.push(
            (time_of(&run, "started_at") - time_of(&run, "created_at"))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0,
        );
    }
    alone.sort_by(f64::total_cmp);
    let pct = |p: f64| alone[((alone.len() - 1) as f64 * p).round() as usize];
    println!("trigger-to-start latency, one run at a time ({SINGLE_RUNS} runs): p50 {:.1} ms, p99 {:.1} ms", pct(0.5), pct(0.99));
}

const SINGLE_RUNS: usize = 100;
