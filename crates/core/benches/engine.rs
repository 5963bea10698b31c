//! The engine's own overhead: pipelines of `noop` blocks, whose run time is all engine
//! (scheduling, condition checks, fingerprints, and the store writes that record each block's
//! status, log and timing). Embedded store (SQLite) as in `ironmage up`.
//!
//! Then the SQL transformer's engine (`sql_transform`): a `SELECT *` and a `GROUP BY` over
//! tables of 1k, 100k and 1M rows × 10 numeric columns, copied into its in-memory SQLite and
//! read back as a table.
//!
//! `cargo bench -p ironmage-core --bench engine`

use ironmage_core::table::query::query_tables;
use ironmage_core::table::{Column, Table};
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

        println!();
        println!("sql_transform engine (in-memory SQLite), 10 numeric columns");
        println!("{:>9} {:>16} {:>16}", "rows", "SELECT * ms", "GROUP BY ms");
        for rows in [1_000usize, 100_000, 1_000_000] {
            let table = numeric_table(rows, 10);
            let time = |query: &'static str| {
                let table = &table;
                async move {
                    let started = Instant::now();
                    let out = query_tables(&[("t", table)], query).await.expect("query");
                    (started.elapsed(), out.rows())
                }
            };
            let (all, n) = time("SELECT * FROM t").await;
            assert_eq!(n, rows);
            let (grouped, _) = time("SELECT c0 > 0.5 AS high, COUNT(*) AS n, AVG(c1) AS mean FROM t GROUP BY 1").await;
            println!(
                "{:>9} {:>16.1} {:>16.1}",
                rows,
                all.as_secs_f64() * 1e3,
                grouped.as_secs_f64() * 1e3
            );
        }
    });
}

/// `rows` × `columns` numbers in [0, 1), the same on every run.
fn numeric_table(rows: usize, columns: usize) -> Table {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let columns = (0..columns)
        .map(|c| {
            let values = (0..rows)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64
                })
                .collect();
            Column::number(format!("c{c}"), values)
        })
        .collect();
    Table::new(columns).expect("a table")
}
