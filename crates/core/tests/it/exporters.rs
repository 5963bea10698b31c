//! Exporter blocks end to end: `sql_export` into the test PostgreSQL (URL from a named secret,
//! replace, append, and failed exports that leave the table as it was), `file_export` to CSV and
//! Arrow files read back (by pandas too), and to an S3-compatible store: moto's server, with
//! its signature checks on, started by the test on a free port.
//!
//! PostgreSQL comes from `IRONMAGE_TEST_POSTGRES_URL`, Python (pandas, pyarrow, moto) from
//! `IRONMAGE_TEST_PYTHON`; without them a test says so and passes, except in CI. Secrets and the
//! object store's settings are environment variables, set before the platform is opened:
//! nextest runs each test in a process of its own.

use crate::common::platform::{demo_platform, run_pipeline, write_pipeline};
use crate::common::{service_url, POSTGRES_URL_VAR};
use ironmage_core::object_store::{ObjectStore, ObjectStoreConfig};
use ironmage_core::store::RunStatus;
use ironmage_core::table::{parse_csv, read_arrow, Column, Table};
use ironmage_core::{ErrorCode, Platform};
use serde_json::{json, Map, Value};
use sqlx::{Connection, Row};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One block of a finished run.
#[derive(Debug)]
struct BlockRun {
    name: String,
    status: String,
    error: Option<String>,
    logs: Vec<String>,
    preview: Value,
}

async fn run(p: &Platform, pipeline: &str) -> (RunStatus, Vec<BlockRun>) {
    let (outcome, blocks) = run_pipeline(p, pipeline, Map::new()).await;
    let blocks = blocks
        .into_iter()
        .map(|b| BlockRun {
            name: b.block,
            status: b.status.as_str().to_string(),
            error: b.error,
            logs: b.logs,
            preview: b.preview.unwrap_or(Value::Null),
        })
        .collect();
    (outcome.status, blocks)
}

fn block<'a>(blocks: &'a [BlockRun], name: &str) -> &'a BlockRun {
    blocks.iter().find(|b| b.name == name).unwrap()
}

/// `people.csv` in the project: numbers with a missing one, text with a missing one and
/// characters that need quoting.
const PEOPLE: &str = "id,name,income\n1,\"Smith, J\",2500.5\n2,,\n3,Zoë \"Z\",-7\n";

fn python() -> Option<PathBuf> {
    match std::env::var("IRONMAGE_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(PathBuf::from(p.trim())),
        _ if crate::common::in_ci() => {
            panic!("IRONMAGE_TEST_PYTHON is not set and CI is: the exporter tests must run")
        }
        _ => {
            eprintln!("SKIPPED: IRONMAGE_TEST_PYTHON is not set");
            None
        }
    }
}

/// The rows of the exported table, in a stable order.
async fn read_back(
    db: &mut sqlx::PgConnection,
    target: &str,
) -> Vec<(Option<f64>, Option<String>, Option<f64>)> {
    sqlx::query(&format!(
        "SELECT id, name, income FROM public.{target} ORDER BY id, name"
    ))
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

#[tokio::test]
async fn sql_export_writes_postgres_from_a_secret_url_and_failed_exports_change_nothing() {
    let Some(url) = service_url(POSTGRES_URL_VAR) else {
        return;
    };
    std::env::set_var("IRONMAGE_SECRET_WAREHOUSE_URL", &url);
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    std::fs::write(dir.path().join("project/people.csv"), PEOPLE).unwrap();
    let target = format!(
        "export_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let pipeline = |name: &str, file: &str, mode: &str| {
        write_pipeline(
            dir.path(),
            name,
            &format!(
                "name: {name}\nblocks:\n  - {{name: load, kind: csv, config: {{path: {file}}}}}\n  - name: save\n    kind: sql_export\n    upstream: [load]\n    config: {{url: '${{secret.warehouse_url}}', table: public.{target}, mode: {mode}}}\n"
            ),
        )
    };
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    pipeline("replace", "people.csv", "replace");
    let (status, blocks) = run(&p, "replace").await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    let save = block(&blocks, "save");
    let rows = read_back(&mut db, &target).await;
    assert_eq!(
        rows,
        vec![
            (Some(1.0), Some("Smith, J".into()), Some(2500.5)),
            (Some(2.0), None, None),
            (Some(3.0), Some("Zoë \"Z\"".into()), Some(-7.0)),
        ]
    );
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(&target)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        types,
        [
            ("id", "double precision"),
            ("name", "text"),
            ("income", "double precision")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The URL was a secret: neither the log nor the stored preview holds it.
    let everything = format!("{:?} {}", save.logs, save.preview);
    assert!(!everything.contains(&url), "{everything}");
    assert!(
        save.logs.iter().any(|l| l.contains(&format!(
            "Exported 3 rows to **** table public.{target} (replace)"
        ))),
        "{:?}",
        save.logs
    );
    // The table passes through, with what was written.
    assert_eq!(save.preview["rows"], 3, "{}", save.preview);
    assert_eq!(save.preview["exported"]["rows"], 3);
    assert_eq!(save.preview["exported"]["how"], "replace");
    assert!(save.preview["data_version"].is_string());

    pipeline("append", "people.csv", "append");
    assert_eq!(run(&p, "append").await.0, RunStatus::Success);
    assert_eq!(read_back(&mut db, &target).await.len(), 6);
    assert_eq!(run(&p, "replace").await.0, RunStatus::Success);
    let before = read_back(&mut db, &target).await;
    assert_eq!(before.len(), 3, "replace starts over");

    // A type clash in append mode: `income` is text here, a number in the table.
    std::fs::write(
        dir.path().join("project/clash.csv"),
        "id,name,income\n4,Ada,high\n",
    )
    .unwrap();
    pipeline("clash", "clash.csv", "append");
    let (status, blocks) = run(&p, "clash").await;
    assert_eq!(status, RunStatus::Failed);
    let error = block(&blocks, "save").error.clone().unwrap();
    assert!(
        error.contains("config.table") && error.contains("rolled back") && error.contains("income"),
        "{error}"
    );
    assert!(!error.contains(&url), "{error}");
    assert_eq!(read_back(&mut db, &target).await, before, "unchanged");

    // A replace that fails in its second INSERT (PostgreSQL refuses a NUL in text), after the
    // DROP, the CREATE and a first INSERT of 2,666 rows: the old table is back whole.
    let mut big = String::from("id,name,income\n");
    for i in 0..5000 {
        let name = if i == 4500 {
            "bad\0name".to_string()
        } else {
            format!("n{i}")
        };
        big.push_str(&format!("{i},{name},{i}\n"));
    }
    std::fs::write(dir.path().join("project/big.csv"), big).unwrap();
    pipeline("late", "big.csv", "replace");
    let (status, blocks) = run(&p, "late").await;
    assert_eq!(status, RunStatus::Failed);
    let error = block(&blocks, "save").error.clone().unwrap();
    assert!(error.contains("rolled back"), "{error}");
    assert_eq!(
        read_back(&mut db, &target).await,
        before,
        "the old table, whole"
    );

    sqlx::query(&format!("DROP TABLE public.{target}"))
        .execute(&mut db)
        .await
        .unwrap();
}

#[tokio::test]
async fn file_export_writes_csv_and_arrow_files_that_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    std::fs::write(dir.path().join("project/people.csv"), PEOPLE).unwrap();
    let absolute = dir.path().join("elsewhere/people.feather");
    write_pipeline(
        dir.path(),
        "files",
        &format!(
            r#"name: files
blocks:
  - {{name: load, kind: csv, config: {{path: people.csv}}}}
  - {{name: to_csv, kind: file_export, upstream: [load], config: {{path: exports/people.csv}}}}
  - {{name: to_arrow, kind: file_export, upstream: [load], config: {{path: "{}"}}}}
  - {{name: split, kind: split, upstream: [load], config: {{test_size: 0.34}}}}
  - {{name: split_out, kind: file_export, upstream: [split], config: {{path: exports/split.data, format: arrow}}}}
  - {{name: after, kind: select_columns, upstream: [to_csv], config: {{columns: [id]}}}}
"#,
            absolute.display()
        ),
    );
    // A file already there is replaced.
    std::fs::create_dir_all(dir.path().join("project/exports")).unwrap();
    std::fs::write(dir.path().join("project/exports/people.csv"), "old\n").unwrap();
    let (status, blocks) = run(&p, "files").await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    let source = parse_csv(PEOPLE, "people.csv").unwrap();

    let csv = std::fs::read_to_string(dir.path().join("project/exports/people.csv")).unwrap();
    assert_eq!(
        parse_csv(&csv, "exports/people.csv").unwrap().fingerprint(),
        source.fingerprint()
    );
    let arrow = read_arrow(std::fs::File::open(&absolute).unwrap(), "people.feather").unwrap();
    assert_eq!(
        arrow.fingerprint(),
        source.fingerprint(),
        "values, types, nulls"
    );
    let split = read_arrow(
        std::fs::File::open(dir.path().join("project/exports/split.data")).unwrap(),
        "split.data",
    )
    .unwrap();
    assert_eq!(split.fingerprint(), source.fingerprint(), "both parts");
    assert_eq!(block(&blocks, "split_out").preview["exported"]["rows"], 3);
    let to_arrow = block(&blocks, "to_arrow");
    assert!(
        to_arrow.preview["exported"]["how"]
            .as_str()
            .unwrap()
            .starts_with("arrow, "),
        "{}",
        to_arrow.preview
    );
    // Downstream of an exporter the table goes on, without the export record.
    let after = block(&blocks, "after");
    assert_eq!(after.status, "success");
    assert!(after.preview.get("exported").is_none(), "{}", after.preview);
    assert!(block(&blocks, "to_csv")
        .logs
        .iter()
        .any(|l| l.contains("Exported 3 rows to exports/people.csv (csv, ")));

    // pandas reads the Arrow file (Feather v2) with its types and nulls.
    let Some(python) = python() else {
        return;
    };
    let out = Command::new(&python)
        .arg("-c")
        .arg(
            "import sys, json, pandas as pd\n\
             df = pd.read_feather(sys.argv[1])\n\
             print(json.dumps({'columns': list(df.columns), 'dtypes': [str(t) for t in df.dtypes], \
             'nulls': [int(n) for n in df.isna().sum()], 'income': float(df['income'].sum()), \
             'names': [None if pd.isna(v) else v for v in df['name']]}))",
        )
        .arg(&absolute)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["columns"], json!(["id", "name", "income"]));
    assert_eq!(seen["dtypes"][0], "float64");
    assert_eq!(seen["dtypes"][2], "float64");
    assert_eq!(seen["nulls"], json!([0, 1, 1]));
    assert_eq!(seen["income"], 2493.5);
    assert_eq!(seen["names"], json!(["Smith, J", null, "Zoë \"Z\""]));
}

#[tokio::test]
async fn exporter_configs_are_checked_when_the_pipeline_loads_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    std::fs::write(dir.path().join("project/people.csv"), PEOPLE).unwrap();
    let cases = [
        (
            "sql_export",
            "{url: 'postgres://h/db', table: 'Sales'}",
            "config.table",
        ),
        (
            "sql_export",
            "{url: 'postgres://h/db', table: 'a.b.c'}",
            "config.table",
        ),
        (
            "sql_export",
            "{url: 'mysql://h/db', table: t}",
            "config.url",
        ),
        ("sql_export", "{url: '', table: t}", "config.url"),
        (
            "sql_export",
            "{url: 'postgres://h/db', table: t, mode: upsert}",
            "config.mode",
        ),
        (
            "sql_export",
            "{url: 'postgres://h/db', table: t, schema: x}",
            "config",
        ),
        ("sql_export", "{table: t}", "config"),
        ("file_export", "{path: out.parquet}", "config.path"),
        (
            "file_export",
            "{path: out.csv, format: parquet}",
            "config.format",
        ),
        ("file_export", "{path: out.txt}", "config.format"),
        (
            "file_export",
            "{path: 's3://Bad_Bucket/x.csv'}",
            "config.path",
        ),
        ("file_export", "{path: 's3://bucket'}", "config.path"),
        ("file_export", "{path: ''}", "config.path"),
    ];
    for (i, (kind, config, field)) in cases.iter().enumerate() {
        let name = format!("bad{i}");
        write_pipeline(
            dir.path(),
            &name,
            &format!(
                "name: {name}\nblocks:\n  - {{name: load, kind: csv, config: {{path: people.csv}}}}\n  - {{name: out, kind: {kind}, upstream: [load], config: {config}}}\n"
            ),
        );
        let err = p
            .runs
            .create_run(&name, Map::new(), "test")
            .await
            .unwrap_err();
        assert!(
            err.message.contains("block out") && err.message.contains(&format!("field {field}")),
            "{kind} {config}: {}",
            err.message
        );
    }
    // An exporter takes one table.
    write_pipeline(
        dir.path(),
        "alone",
        "name: alone\nblocks:\n  - {name: out, kind: file_export, config: {path: x.csv}}\n",
    );
    let err = p
        .runs
        .create_run("alone", Map::new(), "test")
        .await
        .unwrap_err();
    assert!(err.message.contains("field upstream"), "{}", err.message);
}

/// moto's S3-compatible server on a free port, checking signatures: the first requests (the
/// setup's) go unchecked, every later one must be signed with a key its IAM knows.
struct Moto {
    child: Child,
    endpoint: String,
    access_key_id: String,
    secret_access_key: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start moto and set up through boto3: a user allowed s3:*, its access key, a bucket
/// `exports`. Four requests, so `INITIAL_NO_AUTH_ACTION_COUNT=4`.
fn moto(python: &Path) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let mut server = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        access_key_id: String::new(),
        secret_access_key: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not listen within 60 s");
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "moto exited before listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let setup = r#"
import boto3, json, sys
from botocore.config import Config
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="exporter")
iam.put_user_policy(UserName="exporter", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="exporter")["AccessKey"]
boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **kw).create_bucket(Bucket="exports")
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"]]))
"#;
    let out = Command::new(python)
        .args(["-c", setup, server.endpoint.as_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "moto setup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (id, secret): (String, String) = serde_json::from_slice(&out.stdout).unwrap();
    server.access_key_id = id;
    server.secret_access_key = secret;
    server
}

#[tokio::test]
async fn objects_put_and_get_against_a_signature_checking_s3_server() {
    let Some(python) = python() else {
        return;
    };
    let server = moto(&python);
    let config = |secret: &str| ObjectStoreConfig {
        endpoint: server.endpoint.clone(),
        region: "us-east-1".into(),
        access_key_id: server.access_key_id.clone(),
        secret_access_key: secret.into(),
    };
    let store = ObjectStore::new(config(&server.secret_access_key)).unwrap();
    let body: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    store
        .put_object(
            "exports",
            "runs/2026 Q1/data+1.bin",
            body.clone(),
            "application/octet-stream",
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_object("exports", "runs/2026 Q1/data+1.bin")
            .await
            .unwrap(),
        body
    );
    store
        .put_object(
            "exports",
            "runs/2026 Q1/data+1.bin",
            b"replaced".to_vec(),
            "text/plain",
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_object("exports", "runs/2026 Q1/data+1.bin")
            .await
            .unwrap(),
        b"replaced"
    );
    let missing = store.get_object("exports", "nope").await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound, "{missing}");
    assert!(missing.message.contains("NoSuchKey"), "{missing}");
    let no_bucket = store
        .put_object("missing-bucket", "a", b"x".to_vec(), "text/plain")
        .await
        .unwrap_err();
    assert!(no_bucket.message.contains("NoSuchBucket"), "{no_bucket}");
    // A wrong secret signs wrongly: the server refuses.
    let wrong = ObjectStore::new(config("not-the-secret")).unwrap();
    let err = wrong
        .get_object("exports", "runs/2026 Q1/data+1.bin")
        .await
        .unwrap_err();
    assert!(err.message.contains("SignatureDoesNotMatch"), "{err}");
    assert!(!err.message.contains("not-the-secret"), "{err}");
}

#[tokio::test]
async fn file_export_puts_the_table_into_the_object_store_with_credentials_from_secrets() {
    let Some(python) = python() else {
        return;
    };
    let server = moto(&python);
    std::env::set_var("IRONMAGE_S3_ENDPOINT", &server.endpoint);
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", &server.access_key_id);
    // The secret key as a named secret, never in a plain variable of ironmage's.
    std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    std::env::set_var(
        "IRONMAGE_SECRET_AWS_SECRET_ACCESS_KEY",
        &server.secret_access_key,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    let table = Table::new(vec![
        Column::number("x", (0..1000).map(f64::from).collect()),
        Column::text(
            "k",
            (0..1000)
                .map(|i| (i % 7 != 0).then(|| format!("k{}", i % 3)))
                .collect(),
        ),
    ])
    .unwrap();
    std::fs::write(
        dir.path().join("project/t.csv"),
        ironmage_core::table::write_csv(&table),
    )
    .unwrap();
    write_pipeline(
        dir.path(),
        "s3",
        r#"name: s3
blocks:
  - {name: load, kind: csv, config: {path: t.csv}}
  - {name: up, kind: file_export, upstream: [load], config: {path: "s3://exports/daily/t.arrow"}}
  - {name: up_csv, kind: file_export, upstream: [load], config: {path: "s3://exports/daily/t.csv"}}
  - {name: nowhere, kind: file_export, upstream: [load], config: {path: "s3://no-such-bucket/t.csv"}}
"#,
    );
    let (status, blocks) = run(&p, "s3").await;
    assert_eq!(status, RunStatus::Failed, "{blocks:?}");
    assert_eq!(block(&blocks, "up").status, "success", "{blocks:?}");
    assert_eq!(block(&blocks, "up_csv").status, "success", "{blocks:?}");
    let nowhere = block(&blocks, "nowhere").error.clone().unwrap();
    assert!(nowhere.contains("NoSuchBucket"), "{nowhere}");
    assert_eq!(
        block(&blocks, "up").preview["exported"]["destination"],
        "s3://exports/daily/t.arrow"
    );

    let store = ObjectStore::new(ObjectStoreConfig {
        endpoint: server.endpoint.clone(),
        region: "us-east-1".into(),
        access_key_id: server.access_key_id.clone(),
        secret_access_key: server.secret_access_key.clone(),
    })
    .unwrap();
    let arrow = store.get_object("exports", "daily/t.arrow").await.unwrap();
    let back = read_arrow(std::io::Cursor::new(arrow), "t.arrow").unwrap();
    assert_eq!(back.fingerprint(), table.fingerprint());
    let csv = store.get_object("exports", "daily/t.csv").await.unwrap();
    let back = parse_csv(std::str::from_utf8(&csv).unwrap(), "t.csv").unwrap();
    assert_eq!(back.fingerprint(), table.fingerprint());
}
