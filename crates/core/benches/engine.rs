//! The engine's own overhead: pipelines of `noop` blocks, whose run time is all engine
//! (scheduling, condition checks, fingerprints, and the store writes that record each block's
//! status, log and timing). Embedded store (SQLite) as in `ironmage up`.
//!
//! `cargo bench -p ironmage-core --bench engine`

use ironmage_core::{Platform, PlatformConfig};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const RUNS: usize = 20;

fn chain(n: usize) -> String {
    let mut yaml = String::from("blocks:\n- {name: b0, kind: noop}\n");
    for i in 1..n {
        let _ = writeln!(yaml, "- {{name: b{i}, kind: noop, upstream: [b{}]}}", i - 1);
    }
    yaml
}

fn wide(width: usize) -> String {
    let mut yaml = format!(
        "concurrency: {}\nblocks:\n- {{name: start, kind: noop}}\n",
        width.min(64)
    );
    let mut branches = Vec::new();
    for i in 0..width {
        let _ = writeln!(yaml, "- {{name: branch{i}, kind: noop, upstream: [start]}}");
        branches.push(format!("branch{i}"));
    }
    let _ = writeln!(
        yaml,
        "- {{name: join, kind: noop, upstream: [{}]}}",
        branches.join(", ")
    );
    yaml
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let pipelines = [
            ("chain_100", chain(100), 100),
            ("wide_10", wide(10), 12),
            ("wide_100", wide(100), 102),
        ];
        for (name, yaml, _) in &pipelines {
            let folder = dir.path().join("project/pipelines").join(name);
            std::fs::create_dir_all(&folder).expect("pipeline folder");
            std::fs::write(folder.join("pipeline.yaml"), yaml).expect("pipeline file");
        }
        let platform = Platform::open(&PlatformConfig {
            data_dir: dir.path().join("data"),
            database_url: None,
            artifact_dir: None,
            project_dir: dir.path().join("project"),
            redis_url: None,
        })
        .await
        .expect("platform");
        println!("engine overhead, noop blocks, embedded SQLite store, {RUNS} runs each (first one is warm-up)");
        println!("{:<10} {:>7} {:>12} {:>12} {:>14}", "pipeline", "blocks", "run p50 ms", "run max ms", "per block ms");
        for (name, _, blocks) in &pipelines {
            let mut times: Vec<Duration> = Vec::new();
            for i in 0..=RUNS {
                let started = Instant::now();
                let run = platform.runs.create_run(name, Default::default(), "bench").await.expect("run");
                let outcome = platform
                    .runs.execute_run(&run.id, "bench", &|_| {})
                    .await
                    .expect("execute")
                    .expect("claimed");
                assert_eq!(outcome.status.as_str(), "success", "{:?}", outcome.error);
                if i > 0 {
                    times.push(started.elapsed());
                }
            }
            times.sort();
            let p50 = times[times.len() / 2];
            let max = times[times.len() - 1];
            println!(
                "{:<10} {:>7} {:>12.2} {:>12.2} {:>14.3}",
                name,
                blocks,
                p50.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3,
                p50.as_secs_f64() * 1e3 / *blocks as f64
            );
        }
    });
}
