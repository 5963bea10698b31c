//! Dynamic blocks (fan-out over a table's rows and reduce), callback blocks and sensor blocks,
//! run by the engine on a real embedded platform (SQLite, artifacts on disk). `command` blocks
//! run real shell scripts, so what is tested is what users run; the Python variants need the
//! test interpreter (`IRONMAGE_TEST_PYTHON`, see `python_blocks.rs`).

use crate::common::platform::{open_platform, run_pipeline, run_scoped};
use chrono::{DateTime, Utc};
use ironmage_core::pipeline::spec;
use ironmage_core::store::{BlockRun, BlockStatus, RunScope, RunStatus};
use ironmage_core::Platform;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Env {
    platform: Platform,
    dir: tempfile::TempDir,
}

impl Env {
    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }
}

/// A platform whose project holds the pipeline `p` and the given files (path, text).
async fn env(yaml: &str, files: &[(&str, &str)]) -> Env {
    env_on(None, yaml, files).await
}

/// The same on the metadata database at `database_url` (SQLite in the folder when `None`).
async fn env_on(database_url: Option<String>, yaml: &str, files: &[(&str, &str)]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let folder = project.join("pipelines/p");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("pipeline.yaml"), yaml).unwrap();
    for (path, text) in files {
        let path = project.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let platform = open_platform(dir.path(), database_url).await;
    Env { platform, dir }
}

async fn run_once(p: &Platform) -> (ironmage_core::pipeline::RunOutcome, Vec<BlockRun>) {
    run_pipeline(p, "p", Map::new()).await
}

fn block<'a>(blocks: &'a [BlockRun], name: &str) -> &'a BlockRun {
    blocks.iter().find(|b| b.block == name).unwrap_or_else(|| {
        let names: Vec<&str> = blocks.iter().map(|b| b.block.as_str()).collect();
        panic!("no block run {name} in {names:?}")
    })
}

fn time(at: &Option<String>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(at.as_deref().expect("a time"))
        .unwrap()
        .with_timezone(&Utc)
}

fn head(b: &BlockRun) -> Vec<Value> {
    let preview = b
        .preview
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no preview", b.block));
    preview["head"].as_array().unwrap().clone()
}

/// Three cities, one row each: the dynamic block's table.
const CITIES: &str = "printf 'city,n\\nOslo,1\\nBergen,2\\nTromso,3\\n' > \"$IRONMAGE_OUTPUT\"\n";
/// Each item's run: its one row with `twice` = 2 n, after a pause (to see runs overlap).
const DOUBLE: &str = "sleep 0.3\nawk -F, 'NR==1 {print $0\",twice\"} NR>1 {print $0\",\"$2*2}' \"$IRONMAGE_INPUT_CITIES\" > \"$IRONMAGE_OUTPUT\"\n";
/// The reduced table's row count and sum of `twice`.
const TOTAL: &str = "awk -F, 'NR>1 {rows++; sum+=$3} END {print \"rows,sum\"; print rows\",\"sum}' \"$IRONMAGE_INPUT_DOUBLE\" > \"$IRONMAGE_OUTPUT\"\n";

fn fan_out_pipeline(max_fan_out: Option<usize>) -> String {
    let max = max_fan_out.map_or(String::new(), |m| format!("  max_fan_out: {m}\n"));
    format!(
        "concurrency: 2\nblocks:\n\
         - name: cities\n  kind: command\n  dynamic: true\n{max}  config: {{shell: 'sh scripts/cities.sh'}}\n\
         - name: double\n  kind: command\n  upstream: [cities]\n  reduce_output: true\n  config: {{shell: 'sh scripts/double.sh'}}\n\
         - name: total\n  kind: command\n  upstream: [double]\n  config: {{shell: 'sh scripts/total.sh'}}\n"
    )
}

const SCRIPTS: [(&str, &str); 3] = [
    ("scripts/cities.sh", CITIES),
    ("scripts/double.sh", DOUBLE),
    ("scripts/total.sh", TOTAL),
];

#[tokio::test]
async fn a_dynamic_block_fans_out_per_row_and_the_reduce_concatenates_the_runs() {
    let e = env(&fan_out_pipeline(None), &SCRIPTS).await;
    let (outcome, blocks) = run_once(&e.platform).await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);

    // One run per row, each recorded with its index and given its own row.
    // Numbers are floats in a table.
    for (i, (city, n)) in [("Oslo", 1.0), ("Bergen", 2.0), ("Tromso", 3.0)]
        .iter()
        .enumerate()
    {
        let child = block(&blocks, &format!("double:{i}"));
        assert_eq!(child.status, BlockStatus::Success, "{:?}", child.error);
        assert_eq!(
            (child.item, child.parent.as_deref()),
            (Some(i as i64), Some("double"))
        );
        assert_eq!(
            head(child),
            vec![json!({"city": city, "n": n, "twice": 2.0 * n})],
            "double:{i}"
        );
    }
    let names: Vec<&str> = blocks.iter().map(|b| b.block.as_str()).collect();
    assert_eq!(
        names,
        ["cities", "double", "double:0", "double:1", "double:2", "total"],
        "item runs are listed under their block, in item order"
    );

    // The reduce: one table of the three rows, in item order, for the block downstream.
    let double = block(&blocks, "double");
    assert_eq!(double.status, BlockStatus::Success);
    assert_eq!(double.preview.as_ref().unwrap()["rows"], json!(3));
    let cities: Vec<Value> = head(double)
        .into_iter()
        .map(|r| r["city"].clone())
        .collect();
    assert_eq!(cities, [json!("Oslo"), json!("Bergen"), json!("Tromso")]);
    assert!(
        double.logs.join("\n").contains("3 item runs: 3 succeeded"),
        "{:?}",
        double.logs
    );
    assert_eq!(
        head(block(&blocks, "total")),
        vec![json!({"rows": 3.0, "sum": 12.0})]
    );

    // Item runs are jobs like any: at most `concurrency: 2` at once, and two did overlap.
    let runs: Vec<(DateTime<Utc>, DateTime<Utc>)> = (0..3)
        .map(|i| {
            let b = block(&blocks, &format!("double:{i}"));
            (time(&b.started_at), time(&b.ended_at))
        })
        .collect();
    let most_at_once = runs
        .iter()
        .map(|(start, _)| runs.iter().filter(|(s, e)| s <= start && start < e).count())
        .max()
        .unwrap();
    assert_eq!(most_at_once, 2, "{runs:?}");
}

#[tokio::test]
async fn more_items_than_max_fan_out_fail_the_dynamic_block_before_any_item_runs() {
    let e = env(&fan_out_pipeline(Some(2)), &SCRIPTS).await;
    let (outcome, blocks) = run_once(&e.platform).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let cities = block(&blocks, "cities");
    assert_eq!(cities.status, BlockStatus::Failed);
    let error = cities.error.as_deref().unwrap();
    assert!(
        error.contains("max_fan_out") && error.contains("gave 3 items") && error.contains("of 2"),
        "{error}"
    );
    assert!(outcome
        .error
        .as_deref()
        .unwrap()
        .contains("block cities failed"));
    assert_eq!(block(&blocks, "double").status, BlockStatus::UpstreamFailed);
    assert_eq!(block(&blocks, "total").status, BlockStatus::UpstreamFailed);
    assert!(
        !blocks.iter().any(|b| b.item.is_some()),
        "no item run was recorded"
    );
}

#[tokio::test]
async fn a_failed_item_run_fails_its_block_and_leaves_the_other_items_running() {
    // Item 1 (Bergen) fails; the others run their whole chain (no reduce until `gather`).
    let check = "grep -q Bergen \"$IRONMAGE_INPUT_CITIES\" && { echo no Bergen >&2; exit 4; }\ncp \"$IRONMAGE_INPUT_CITIES\" \"$IRONMAGE_OUTPUT\"\n";
    let yaml = "blocks:\n\
        - {name: cities, kind: command, dynamic: true, config: {shell: 'sh scripts/cities.sh'}}\n\
        - {name: check, kind: command, upstream: [cities], callbacks: {on_failure: [alert]}, config: {shell: 'sh scripts/check.sh'}}\n\
        - {name: keep, kind: command, upstream: [check], reduce_output: true, config: {shell: 'cp \"$IRONMAGE_INPUT_CHECK\" \"$IRONMAGE_OUTPUT\"'}}\n"
        .to_string()
        + &callback("alert");
    let e = env(
        &yaml,
        &[("scripts/cities.sh", CITIES), ("scripts/check.sh", check)],
    )
    .await;
    let (outcome, blocks) = run_once(&e.platform).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(
        outcome
            .error
            .as_deref()
            .unwrap()
            .contains("block check:1 failed"),
        "{:?}",
        outcome.error
    );
    let status = |name: &str| block(&blocks, name).status;
    assert_eq!(status("check:1"), BlockStatus::Failed);
    assert_eq!(status("keep:1"), BlockStatus::UpstreamFailed);
    for name in ["check:0", "check:2", "keep:0", "keep:2"] {
        assert_eq!(status(name), BlockStatus::Success, "{name}");
    }
    assert_eq!(status("check"), BlockStatus::Failed);
    assert!(block(&blocks, "check")
        .error
        .as_deref()
        .unwrap()
        .contains("1 of 3 item runs failed: check:1"));
    assert_eq!(status("keep"), BlockStatus::UpstreamFailed);
    // A fanned-out block's callbacks run once, on the outcome of all its item runs.
    assert_eq!(status("alert"), BlockStatus::Success);
    let told = std::fs::read_to_string(e.project().join("alert.txt")).unwrap();
    assert_eq!(
        told.trim(),
        "check failure 1 of 3 item runs failed: check:1"
    );
}

/// A callback that writes what it was told about its parent to `<name>.txt`.
fn callback(name: &str) -> String {
    format!(
        "- name: {name}\n  kind: command\n  config: {{shell: 'echo \"$IRONMAGE_VAR_PARENT_BLOCK_UUID $IRONMAGE_VAR_PARENT_STATUS $IRONMAGE_VAR_PARENT_ERROR\" > {name}.txt'}}\n"
    )
}

#[tokio::test]
async fn callbacks_run_on_their_parents_final_outcome_with_its_status_and_error() {
    let yaml = format!(
        "blocks:\n\
         - name: good\n  kind: noop\n  callbacks: {{on_success: [good_ok], on_failure: [good_ko]}}\n\
         - name: bad\n  kind: command\n  retries: 1\n  retry_delay_ms: 10\n  config: {{shell: 'echo disk full >&2; exit 2'}}\n  callbacks: {{on_success: [bad_ok], on_failure: [bad_ko]}}\n\
         {}{}{}{}",
        callback("good_ok"),
        callback("good_ko"),
        callback("bad_ok"),
        callback("bad_ko")
    );
    let e = env(&yaml, &[]).await;
    let (outcome, blocks) = run_once(&e.platform).await;
    assert_eq!(outcome.status, RunStatus::Failed, "bad failed");
    let status = |name: &str| block(&blocks, name).status;
    let told = |name: &str| std::fs::read_to_string(e.project().join(format!("{name}.txt")));

    assert_eq!(status("good_ok"), BlockStatus::Success);
    assert_eq!(told("good_ok").unwrap().trim(), "good success null");
    assert_eq!(status("good_ko"), BlockStatus::Skipped);
    assert!(told("good_ko").is_err());
    assert!(block(&blocks, "good_ko").logs[0].contains("good succeeded"));

    // After its retries: one callback run, on the last attempt's error.
    let bad = block(&blocks, "bad");
    assert_eq!((bad.status, bad.attempts), (BlockStatus::Failed, 2));
    assert_eq!(status("bad_ko"), BlockStatus::Success);
    let ko = told("bad_ko").unwrap();
    assert!(
        ko.starts_with("bad failure ") && ko.contains("disk full"),
        "{ko}"
    );
    assert!(millis(&block(&blocks, "bad_ko").started_at) >= millis(&bad.ended_at));
    assert_eq!(status("bad_ok"), BlockStatus::Skipped);
    assert_eq!(
        block(&blocks, "bad_ko").parent.as_deref(),
        Some("bad"),
        "the record names the parent"
    );
}

fn millis(at: &Option<String>) -> DateTime<Utc> {
    time(at)
}

#[tokio::test]
async fn a_failing_callback_is_recorded_but_fails_neither_its_parent_nor_the_run() {
    let yaml = "blocks:\n\
        - {name: load, kind: noop, callbacks: {on_success: [notify]}}\n\
        - {name: after, kind: noop, upstream: [load]}\n\
        - {name: notify, kind: command, config: {shell: 'echo webhook unreachable >&2; exit 7'}}\n";
    let e = env(yaml, &[]).await;
    let (outcome, blocks) = run_once(&e.platform).await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert_eq!(block(&blocks, "load").status, BlockStatus::Success);
    assert_eq!(block(&blocks, "after").status, BlockStatus::Success);
    let notify = block(&blocks, "notify");
    assert_eq!(notify.status, BlockStatus::Failed);
    assert!(notify
        .error
        .as_deref()
        .unwrap()
        .contains("webhook unreachable"));
    assert_eq!(
        outcome.summary["callbacks_failed"][0]["block"],
        json!("notify")
    );
}

#[tokio::test]
async fn a_sensor_waits_until_a_file_appears_then_its_downstream_runs() {
    let yaml = "blocks:\n\
        - {name: wait, kind: sensor, config: {path: inbox/ready.flag, poll_secs: 0.05, timeout_secs: 20}}\n\
        - {name: load, kind: csv, upstream: [wait], config: {path: inbox/data.csv}}\n";
    let e = env(yaml, &[("inbox/data.csv", "x,label\n1,0\n2,1\n")]).await;
    let flag = e.project().join("inbox/ready.flag");
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        std::fs::write(flag, "").unwrap();
    });
    let (outcome, blocks) = run_once(&e.platform).await;
    writer.await.unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let wait = block(&blocks, "wait");
    assert_eq!(wait.status, BlockStatus::Success);
    let log = wait.logs.join("\n");
    assert!(
        log.contains("waiting for path inbox/ready.flag to exist"),
        "{log}"
    );
    let checks: u32 = log
        .split("condition true at check ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert!(checks > 2, "it polled until the file came: {checks} checks");
    let load = block(&blocks, "load");
    assert_eq!(load.status, BlockStatus::Success);
    assert!(time(&load.started_at) >= time(&wait.ended_at));
}

#[tokio::test]
async fn a_sensor_whose_condition_stays_false_fails_at_its_timeout_saying_what_it_waited_for() {
    let yaml = "blocks:\n\
        - {name: wait, kind: sensor, config: {path: never.flag, poll_secs: 0.1, timeout_secs: 0.5}}\n\
        - {name: after, kind: noop, upstream: [wait]}\n";
    let e = env(yaml, &[]).await;
    let started = Instant::now();
    let (outcome, blocks) = run_once(&e.platform).await;
    let waited = started.elapsed();
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let wait = block(&blocks, "wait");
    assert_eq!(wait.status, BlockStatus::Failed);
    let error = wait.error.as_deref().unwrap();
    assert!(
        error.contains("sensor timed out after 0.5 s (timeout_secs)")
            && error.contains("path never.flag to exist"),
        "{error}"
    );
    assert_eq!(block(&blocks, "after").status, BlockStatus::UpstreamFailed);
}

#[tokio::test]
async fn a_sql_sensor_waits_until_its_query_returns_true() {
    // The metadata database: wait until a run of pipeline `other` has been queued.
    let yaml = "blocks:\n\
        - name: wait\n  kind: sensor\n  config:\n    query: \"SELECT count(*) > 0 FROM runs WHERE pipeline = 'other'\"\n    poll_secs: 0.05\n    timeout_secs: 20\n";
    let e = env(
        yaml,
        &[(
            "pipelines/other/pipeline.yaml",
            "blocks:\n- {name: a, kind: noop}\n",
        )],
    )
    .await;
    let p = e.platform.clone();
    let queue = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        p.runs
            .create_run("other", Map::new(), "test")
            .await
            .unwrap();
    });
    let (outcome, blocks) = run_once(&e.platform).await;
    queue.await.unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let log = block(&blocks, "wait").logs.join("\n");
    assert!(log.contains("condition true at check"), "{log}");
    assert!(!log.contains("condition true at check 1,"), "{log}");
}

#[tokio::test]
async fn a_sql_sensor_reads_postgres_through_a_secret_url() {
    let Some(url) = ironmage_core_test_postgres() else {
        return;
    };
    let table = format!("sensor_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE TABLE {table} (done BOOLEAN)"))
        .execute(&admin)
        .await
        .unwrap();
    std::env::set_var("IRONMAGE_SECRET_WAREHOUSE", &url);
    let yaml = format!(
        "blocks:\n- name: wait\n  kind: sensor\n  config:\n    query: 'SELECT bool_or(done) FROM {table}'\n    url: '${{secret.warehouse}}'\n    poll_secs: 0.05\n    timeout_secs: 20\n"
    );
    let e = env(&yaml, &[]).await;
    let insert = {
        let (admin, table) = (admin.clone(), table.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            sqlx::query(&format!("INSERT INTO {table} VALUES (true)"))
                .execute(&admin)
                .await
                .unwrap();
        })
    };
    let (outcome, blocks) = run_once(&e.platform).await;
    insert.await.unwrap();
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let log = block(&blocks, "wait").logs.join("\n");
    assert!(!log.contains(&url), "the URL is masked: {log}");
}

fn ironmage_core_test_postgres() -> Option<String> {
    crate::common::service_url("IRONMAGE_TEST_POSTGRES_URL")
}

fn python() -> Option<PathBuf> {
    match std::env::var("IRONMAGE_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(PathBuf::from(p.trim())),
        _ if crate::common::in_ci() => {
            panic!("IRONMAGE_TEST_PYTHON is not set and CI is: the Python block tests must run")
        }
        _ => {
            eprintln!("SKIPPED: IRONMAGE_TEST_PYTHON is not set");
            None
        }
    }
}

/// Mage-style files: a dynamic loader returning a list of dicts, a child transformer, a sensor
/// and a callback file with both functions, as Mage writes them.
const MAGE_LOADER: &str = r#"if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader


@data_loader
def load_ids(*args, **kwargs):
    return [{'id': 1, 'name': 'a'}, {'id': 2, 'name': 'b'}, {'id': 3, 'name': 'c'}]
"#;
const MAGE_CHILD: &str = r#"if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer


@transformer
def square(item, *args, **kwargs):
    # Mage hands each child its item: here a dict.
    assert isinstance(item, dict), type(item)
    return {'id': item['id'], 'name': item['name'], 'square': item['id'] ** 2}
"#;
/// A dynamic block returning plain values, and a child given each value itself.
const MAGE_NUMBERS: &str = r#"@data_loader
def numbers(*args, **kwargs):
    return [10, 20]
"#;
const MAGE_PLUS_ONE: &str = r#"@transformer
def plus_one(value, *args, **kwargs):
    assert isinstance(value, float), type(value)
    return value + 1
"#;
const MAGE_GATHER: &str = r#"if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer


@transformer
def gather(squares, *args, **kwargs):
    assert list(squares['square']) == [1, 4, 9], list(squares['square'])
    return squares
"#;
const MAGE_SENSOR: &str = r#"import os

if 'sensor' not in globals():
    from mage_ai.data_preparation.decorators import sensor


@sensor
def check_flag(*args, **kwargs) -> bool:
    return os.path.exists(kwargs['flag'])
"#;
const MAGE_CALLBACK: &str = r#"if 'callback' not in globals():
    from mage_ai.data_preparation.decorators import callback


@callback('success')
def success_callback(parent_block_data, **kwargs):
    with open(kwargs['out'], 'w') as f:
        f.write(f"success {kwargs['parent_block_uuid']} {len(parent_block_data)}")


@callback('failure')
def failure_callback(parent_block_data, **kwargs):
    with open(kwargs['out'], 'w') as f:
        f.write(f"failure {kwargs['__error']}")
"#;

#[tokio::test]
async fn mage_style_python_dynamic_sensor_and_callback_files_run_unchanged() {
    let Some(python) = python() else { return };
    std::env::set_var("IRONMAGE_PYTHON", &python);
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("flag");
    let out = dir.path().join("callback.txt");
    let yaml = format!(
        "blocks:\n\
         - {{name: wait, kind: sensor, config: {{file: sensors/flag.py, params: {{flag: '{flag}'}}, poll_secs: 0.05, timeout_secs: 60}}}}\n\
         - {{name: ids, kind: python, upstream: [wait], dynamic: true, config: {{file: blocks/ids.py}}}}\n\
         - {{name: square, kind: python, upstream: [ids], reduce_output: true, config: {{file: blocks/square.py}}}}\n\
         - name: gather\n  kind: python\n  upstream: [square]\n  config: {{file: blocks/gather.py}}\n  callbacks: {{on_success: [report], on_failure: [report]}}\n\
         - {{name: report, kind: python, config: {{file: callbacks/report.py, params: {{out: '{out}'}}}}}}\n\
         - {{name: numbers, kind: python, dynamic: true, config: {{file: blocks/numbers.py}}}}\n\
         - {{name: plus_one, kind: python, upstream: [numbers], reduce_output: true, config: {{file: blocks/plus_one.py}}}}\n",
        flag = flag.display(),
        out = out.display()
    );
    let e = env(
        &yaml,
        &[
            ("blocks/ids.py", MAGE_LOADER),
            ("blocks/square.py", MAGE_CHILD),
            ("blocks/gather.py", MAGE_GATHER),
            ("blocks/numbers.py", MAGE_NUMBERS),
            ("blocks/plus_one.py", MAGE_PLUS_ONE),
            ("sensors/flag.py", MAGE_SENSOR),
            ("callbacks/report.py", MAGE_CALLBACK),
        ],
    )
    .await;
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        std::fs::write(flag, "").unwrap();
    });
    let (outcome, blocks) = run_once(&e.platform).await;
    writer.await.unwrap();
    let errors: Vec<_> = blocks
        .iter()
        .map(|b| (&b.block, b.status, &b.error))
        .collect();
    assert_eq!(outcome.status, RunStatus::Success, "{errors:?}");
    for i in 0..3 {
        let child = block(&blocks, &format!("square:{i}"));
        let (id, name) = ((i + 1) as f64, ["a", "b", "c"][i]);
        assert_eq!(
            head(child),
            vec![json!({"id": id, "name": name, "square": id * id})]
        );
    }
    assert_eq!(
        block(&blocks, "square").preview.as_ref().unwrap()["rows"],
        json!(3)
    );
    assert_eq!(
        head(block(&blocks, "plus_one")),
        vec![json!({"0": 11.0}), json!({"0": 21.0})]
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "success gather 3",
        "the callback ran on gather's outcome, with its table"
    );
    let report = block(&blocks, "report");
    assert_eq!(report.parent.as_deref(), Some("gather"));
    assert!(
        report
            .logs
            .join("\n")
            .contains("success_callback() (@callback(success))"),
        "{:?}",
        report.logs
    );
}

#[test]
fn bad_dynamic_callback_and_sensor_fields_are_refused_at_load_naming_the_field() {
    let cases = [
        (
            "blocks:\n- {name: a, kind: noop, callbacks: {on_success: [nope]}}\n",
            "block a: field callbacks.on_success: no block named \"nope\"",
        ),
        (
            "blocks:\n- {name: a, kind: noop, callbacks: {on_failure: [a]}}\n",
            "block a: field callbacks.on_failure: a block cannot be its own callback",
        ),
        (
            "blocks:\n- {name: a, kind: noop, callbacks: {on_success: [c]}}\n- {name: b, kind: noop, callbacks: {on_success: [c]}}\n- {name: c, kind: noop}\n",
            "block b: field callbacks.on_success: c is already a callback of a",
        ),
        (
            "blocks:\n- {name: a, kind: noop, callbacks: {on_success: [c]}}\n- {name: c, kind: noop, upstream: [a]}\n",
            "block c: field upstream: a callback block (of a)",
        ),
        (
            "blocks:\n- {name: a, kind: noop, callbacks: {on_success: [c]}}\n- {name: c, kind: noop}\n- {name: d, kind: noop, upstream: [c]}\n",
            "block d: field upstream: c is a callback block (of a); it feeds no block",
        ),
        (
            "blocks:\n- {name: a, kind: noop, callbacks: {on_sucess: [c]}}\n- {name: c, kind: noop}\n",
            "field blocks[0].callbacks.on_sucess: blocks[0].callbacks: unknown field `on_sucess`, expected `on_success` or `on_failure`",
        ),
        (
            "blocks:\n- {name: a, kind: csv, config: {path: x.csv}}\n- {name: b, kind: noop, upstream: [a], reduce_output: true}\n",
            "block b: field reduce_output: b has no dynamic block upstream of it",
        ),
        (
            "blocks:\n- {name: a, kind: csv, config: {path: x.csv}, dynamic: true}\n- {name: b, kind: command, upstream: [a], dynamic: true, config: {shell: 'true'}}\n",
            "block b: field dynamic: b already runs once per item of a; nested dynamic blocks are not supported",
        ),
        (
            "blocks:\n- {name: a, kind: csv, config: {path: x.csv}, dynamic: true}\n- {name: b, kind: csv, config: {path: y.csv}, dynamic: true}\n- {name: c, kind: command, upstream: [a, b], config: {shell: 'true'}}\n",
            "block c: field upstream: c is downstream of the fan-outs of a and b",
        ),
        (
            "blocks:\n- {name: a, kind: csv, config: {path: x.csv}, max_fan_out: 5}\n",
            "block a: field max_fan_out: only a dynamic block fans out",
        ),
        (
            "blocks:\n- {name: a, kind: csv, config: {path: x.csv}, dynamic: true, max_fan_out: 0}\n",
            "block a: field max_fan_out: must be 1 to 10000",
        ),
        (
            "blocks:\n- {name: a, kind: noop, dynamic: true}\n",
            "block a: field dynamic: a dynamic block fans out over the rows of its table, but a noop block gives Empty",
        ),
        (
            "blocks:\n- {name: w, kind: sensor, config: {path: ready.flag}}\n",
            "block w: field config.timeout_secs: a sensor needs a timeout",
        ),
        (
            "blocks:\n- {name: w, kind: sensor, config: {timeout_secs: 60}}\n",
            "block w: field config.path: set exactly one of path",
        ),
        (
            "blocks:\n- {name: w, kind: sensor, config: {path: a, query: 'SELECT 1', timeout_secs: 60}}\n",
            "block w: field config.path: set exactly one of path",
        ),
        (
            "blocks:\n- {name: w, kind: sensor, config: {path: a, timeout_secs: 60, poll_secs: 0}}\n",
            "block w: field config.poll_secs: must be 0.05 to 3600 seconds",
        ),
        (
            "blocks:\n- {name: w, kind: sensor, config: {query: 'DELETE FROM runs', timeout_secs: 60}}\n",
            "block w: field config.query",
        ),
        (
            "blocks:\n- {name: w, kind: sensor, config: {path: a, url: 'postgres://x', timeout_secs: 60}}\n",
            "block w: field config.url: url is the database of a query",
        ),
    ];
    for (yaml, expected) in cases {
        let err = spec::parse("p", "pipelines/p/pipeline.yaml", yaml).unwrap_err();
        assert!(
            err.message.contains(expected),
            "{yaml}\nexpected {expected:?}\n     got {:?}",
            err.message
        );
    }
    // Accepted: a sensor ordering a loader, a callback in both lists of its one parent, a
    // reduce deeper in the fan-out.
    spec::parse(
        "p",
        "pipelines/p/pipeline.yaml",
        "blocks:\n\
         - {name: w, kind: sensor, config: {path: a, timeout_secs: 60}}\n\
         - {name: a, kind: csv, upstream: [w], config: {path: x.csv}, dynamic: true, callbacks: {on_success: [cb], on_failure: [cb]}}\n\
         - {name: b, kind: command, upstream: [a], config: {shell: 'true'}}\n\
         - {name: c, kind: command, upstream: [b], reduce_output: true, config: {shell: 'true'}}\n\
         - {name: d, kind: split, upstream: [c]}\n\
         - {name: cb, kind: noop}\n",
    )
    .unwrap();
}

/// A run limited to some blocks (`--block`) takes the stored outputs of the blocks feeding
/// them: a reduce's gathered table, or a dynamic block's table, which fans out again.
#[tokio::test]
async fn single_block_runs_take_a_stored_reduce_and_fan_out_a_stored_dynamic_table() {
    let e = env(&fan_out_pipeline(None), &SCRIPTS).await;
    let p = &e.platform;
    let (outcome, _) = run_once(p).await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);

    let limited = |block: &str| {
        let block = block.to_string();
        async move {
            let (_, outcome, blocks) =
                run_scoped(p, "p", Map::new(), Some(RunScope::Block(block))).await;
            (outcome, blocks)
        }
    };
    // `total` alone: on the stored gathered table of `double`, whose items do not run.
    let (outcome, blocks) = limited("total").await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert_eq!(block(&blocks, "double").status, BlockStatus::Skipped);
    assert_eq!(
        block(&blocks, "double").preview.as_ref().unwrap()["rows"],
        json!(3)
    );
    assert!(!blocks.iter().any(|b| b.item.is_some()), "no item ran");
    assert_eq!(
        head(block(&blocks, "total")),
        vec![json!({"rows": 3.0, "sum": 12.0})]
    );

    // `double` alone: the stored table of `cities` fans out again, three item runs.
    let (outcome, blocks) = limited("double").await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert_eq!(block(&blocks, "cities").status, BlockStatus::Skipped);
    for i in 0..3 {
        assert_eq!(
            block(&blocks, &format!("double:{i}")).status,
            BlockStatus::Success
        );
    }
    assert_eq!(block(&blocks, "total").status, BlockStatus::Skipped);
}

/// The item runs and callbacks are recorded the same way on PostgreSQL (its migration, the
/// item runs' order).
#[tokio::test]
async fn item_runs_and_callbacks_are_recorded_on_postgres_too() {
    let Some(store) = crate::common::TestStore::new(crate::common::Backend::Postgres).await else {
        return;
    };
    let yaml = fan_out_pipeline(None).replace(
        "- name: total\n",
        "- name: total\n  callbacks: {on_success: [tell]}\n",
    ) + &callback("tell");
    let e = env_on(Some(store.url.clone()), &yaml, &SCRIPTS).await;
    let (outcome, blocks) = run_once(&e.platform).await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let names: Vec<&str> = blocks.iter().map(|b| b.block.as_str()).collect();
    assert_eq!(
        names,
        ["cities", "double", "double:0", "double:1", "double:2", "total", "tell"]
    );
    assert_eq!(block(&blocks, "double:2").item, Some(2));
    assert_eq!(block(&blocks, "tell").parent.as_deref(), Some("total"));
    let told = std::fs::read_to_string(e.project().join("tell.txt")).unwrap();
    assert_eq!(told.trim(), "total success null");
}
