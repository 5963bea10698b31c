//! The engine's own overhead: pipelines of `noop` blocks, whose run time is all engine
//! (scheduling, condition checks, fingerprints, and the store writes that record each block's
//! status, log and timing). Embedded store (SQLite) as in `ironmage up`.
//!
//! Then the SQL transformer's engine (`sql_transform`): a `SELECT *` and a `GROUP BY` over
//! tables of 1k, 100k and 1M rows × 10 numeric columns, copied into its in-memory SQLite and
//! read back as a table.
//!
//! Then user-code blocks in a pipeline, as Mage runs them: the per-block overhead of a SQL
//! block and of a Python block (one runner reused by every Python block of the run), each
//! from a chain of 21 identity blocks over a 10-row table less a chain of 1, and the
//! hand-over of 100k and 1M rows × 10 columns to a Python block and back (Arrow both ways,
//! pandas in Python, the output versioned and previewed as any block's) with a warm runner.
//! The Python part needs `IRONMAGE_PYTHON` (a Python with pandas and pyarrow).
//!
//! `cargo bench -p ironmage-core --bench engine`

use ironmage_core::store::{BlockRun, BlockStatus};
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
        write_user_code_pipelines(&dir.path().join("project"));
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

        user_code_blocks(&platform).await;
    });
}

/// Blocks in the user-code chains: one, then 21 (the per-block figure is their difference / 20).
const CHAIN: usize = 21;

/// The pipelines of the user-code figures: `sql_1`/`sql_21` and `py_1`/`py_21` (a 10-row CSV,
/// then identity blocks), and `handover_<rows>` (a Python loader making the table, then the
/// identity block that is timed).
fn write_user_code_pipelines(project: &std::path::Path) {
    let write = |name: &str, files: &[(&str, String)]| {
        let folder = project.join("pipelines").join(name);
        std::fs::create_dir_all(&folder).expect("pipeline folder");
        for (file, text) in files {
            std::fs::write(folder.join(file), text).expect("pipeline file");
        }
    };
    std::fs::create_dir_all(project).expect("project folder");
    let mut csv = (0..10)
        .map(|c| format!("c{c}"))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for r in 0..10 {
        let row: Vec<String> = (0..10).map(|c| (r * 10 + c).to_string()).collect();
        csv += &(row.join(",") + "\n");
    }
    std::fs::write(project.join("small.csv"), csv).expect("csv");
    let identity = "@transformer\ndef identity(df, *args, **kwargs):\n    return df\n".to_string();
    for n in [1, CHAIN] {
        let mut sql =
            String::from("blocks:\n- {name: load, kind: csv, config: {path: small.csv}}\n");
        let mut py = sql.clone();
        for i in 1..=n {
            let up = if i == 1 {
                "load".to_string()
            } else {
                format!("b{}", i - 1)
            };
            let _ = writeln!(sql, "- {{name: b{i}, kind: sql_transform, upstream: [{up}], config: {{query: 'SELECT * FROM {up}'}}}}");
            let _ = writeln!(py, "- {{name: b{i}, kind: python, upstream: [{up}], config: {{file: pipelines/py_{n}/identity.py}}}}");
        }
        write(&format!("sql_{n}"), &[("pipeline.yaml", sql)]);
        write(
            &format!("py_{n}"),
            &[("pipeline.yaml", py), ("identity.py", identity.clone())],
        );
    }
    let loader = "import numpy as np\nimport pandas as pd\n\n@data_loader\ndef load(*args, **kwargs):\n    rng = np.random.default_rng(0)\n    rows = int(kwargs['rows'])\n    return pd.DataFrame(rng.random((rows, 10)), columns=[f'c{i}' for i in range(10)])\n".to_string();
    for rows in HANDOVER_ROWS {
        let yaml = format!("blocks:\n- {{name: load, kind: python, config: {{file: pipelines/handover_{rows}/load.py, params: {{rows: {rows}}}}}}}\n- {{name: handover, kind: python, upstream: [load], config: {{file: pipelines/handover_{rows}/identity.py}}}}\n");
        write(
            &format!("handover_{rows}"),
            &[
                ("pipeline.yaml", yaml),
                ("load.py", loader.clone()),
                ("identity.py", identity.clone()),
            ],
        );
    }
}

const HANDOVER_ROWS: [usize; 2] = [100_000, 1_000_000];

/// Run a pipeline to success; its wall time and its block runs.
async fn timed_run(platform: &Platform, pipeline: &str) -> (Duration, Vec<BlockRun>) {
    let started = Instant::now();
    let run = platform
        .runs
        .create_run(pipeline, Default::default(), "bench")
        .await
        .expect("run");
    let outcome = platform
        .runs
        .execute_run(&run.id, "bench", &|_| {})
        .await
        .expect("execute")
        .expect("claimed");
    let elapsed = started.elapsed();
    let detail = platform.runs.run_detail(&run.id).await.expect("run detail");
    assert_eq!(
        outcome.status.as_str(),
        "success",
        "{pipeline}: {:?} {:?}",
        outcome.error,
        detail.blocks.iter().map(|b| &b.logs).collect::<Vec<_>>()
    );
    (elapsed, detail.blocks)
}

/// Median wall time of `runs` runs after a warm-up.
async fn median_run(platform: &Platform, pipeline: &str, runs: usize) -> Duration {
    timed_run(platform, pipeline).await;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(timed_run(platform, pipeline).await.0);
    }
    times.sort();
    times[times.len() / 2]
}

/// A block run's duration, from its recorded start and end (milliseconds).
fn block_ms(block: &BlockRun) -> f64 {
    assert_eq!(block.status, BlockStatus::Success);
    let at = |t: &Option<String>| {
        chrono::DateTime::parse_from_rfc3339(t.as_deref().expect("timestamp")).expect("rfc3339")
    };
    (at(&block.ended_at) - at(&block.started_at))
        .num_microseconds()
        .unwrap_or(0) as f64
        / 1e3
}

async fn user_code_blocks(platform: &Platform) {
    println!();
    println!("user-code blocks in a pipeline: per-block overhead = (run of {CHAIN} identity blocks - run of 1) / {}, median of 5 runs", CHAIN - 1);
    let per_block = |one: Duration, many: Duration| {
        (many.as_secs_f64() - one.as_secs_f64()) * 1e3 / (CHAIN - 1) as f64
    };
    let sql = per_block(
        median_run(platform, "sql_1", 5).await,
        median_run(platform, &format!("sql_{CHAIN}"), 5).await,
    );
    println!("sql_transform block     {sql:>8.2} ms per block");
    if std::env::var_os("IRONMAGE_PYTHON").is_none_or(|v| v.is_empty()) {
        println!(
            "python blocks: skipped (set IRONMAGE_PYTHON to a Python with pandas and pyarrow)"
        );
        return;
    }
    let one = median_run(platform, "py_1", 5).await;
    let many = median_run(platform, &format!("py_{CHAIN}"), 5).await;
    println!(
        "python block (reused)   {:>8.2} ms per block   (a 1-block run, runner start included: {:.0} ms)",
        per_block(one, many),
        one.as_secs_f64() * 1e3
    );
    println!("hand-over to a Python identity block and back, 10 numeric columns, warm runner, median of 3");
    for rows in HANDOVER_ROWS {
        let mut times = Vec::new();
        for _ in 0..3 {
            let (_, blocks) = timed_run(platform, &format!("handover_{rows}")).await;
            let block = blocks
                .iter()
                .find(|b| b.block == "handover")
                .expect("handover block");
            // Where the time went, as the block's log says it.
            let breakdown = block
                .logs
                .iter()
                .find(|l| l.contains(" ran in "))
                .cloned()
                .unwrap_or_default();
            times.push((block_ms(block), breakdown));
        }
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!(
            "{rows:>9} rows           {:>8.1} ms   ({})",
            times[1].0,
            times[1].1.trim()
        );
    }
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
