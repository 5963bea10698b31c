//! A cluster of `ironmage` role processes on the real PostgreSQL and Redis, each cluster in its
//! own PostgreSQL schema and Redis database, for the topology tests and benchmark.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Poll `check` every 100 ms until it gives a value, or fail with every role's log.
#[macro_export]
macro_rules! wait_until {
    ($what:expr, $cluster:expr, $seconds:expr, $check:expr) => {{
        let deadline = Instant::now() + Duration::from_secs($seconds);
        loop {
            if let Some(v) = $check {
                break v;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {}\n{}", $what, $cluster.logs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }};
}

pub const CUSTOMER: &str = r#"{"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3, "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8, "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}"#;

/// Where the real services are, or `None` (skip) outside CI.
pub fn service_urls() -> Option<(String, String)> {
    match (
        std::env::var("IRONMAGE_TEST_POSTGRES_URL"),
        std::env::var("IRONMAGE_TEST_REDIS_URL"),
    ) {
        (Ok(pg), Ok(redis)) => Some((pg, redis)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("IRONMAGE_TEST_POSTGRES_URL and IRONMAGE_TEST_REDIS_URL must be set in CI")
        }
        _ => {
            eprintln!("skipped: IRONMAGE_TEST_POSTGRES_URL / IRONMAGE_TEST_REDIS_URL not set");
            None
        }
    }
}

/// (current, peak) resident memory of a process in MiB, from /proc.
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mib = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (mib("VmRSS:"), mib("VmHWM:"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh PostgreSQL schema and Redis database for one test, and a shared folder.
pub struct Cluster {
    pub database_url: String,
    pub redis_url: String,
    pub redis_db: u32,
    pub dir: tempfile::TempDir,
    pub roles: Vec<Role>,
}

pub struct Role {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn psql(url: &str, sql: &str) {
    let status = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .status()
        .expect("psql");
    assert!(status.success(), "psql failed: {sql}");
}

pub fn redis_cli(redis_url: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-u", redis_url])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Cluster {
    pub fn new(pg: &str, redis: &str, redis_db: u32) -> Cluster {
        let schema = format!("topo_{}", uuid::Uuid::new_v4().simple());
        psql(pg, &format!("CREATE SCHEMA {schema}"));
        let sep = if pg.contains('?') { '&' } else { '?' };
        let database_url = format!("{pg}{sep}options=-c%20search_path%3D{schema}");
        let redis_url = format!("{}/{redis_db}", redis.trim_end_matches('/'));
        redis_cli(&redis_url, &["FLUSHDB"]);
        let dir = tempfile::tempdir().unwrap();
        ironmage_core::pipeline::Project::init(&dir.path().join("project")).unwrap();
        Cluster {
            database_url,
            redis_url,
            redis_db,
            dir,
            roles: Vec::new(),
        }
    }

    /// Start `ironmage <args>` as its own process; returns its HTTP port.
    pub async fn start(&mut self, name: &str, args: &[&str], extra_env: &[(&str, &str)]) -> u16 {
        let port = free_port();
        let log = self.dir.path().join(format!("{name}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ironmage"));
        cmd.args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("IRONMAGE_PROJECT_DIR", self.dir.path().join("project"))
            .env("IRONMAGE_ARTIFACT_DIR", self.dir.path().join("artifacts"))
            .env(
                "IRONMAGE_DATA_DIR",
                self.dir.path().join(format!("data-{name}")),
            )
            .env("IRONMAGE_WEB_ADDR", format!("127.0.0.1:{port}"))
            .env("IRONMAGE_PREDICT_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "IRONMAGE_SCHEDULER_HEALTH_ADDR",
                format!("127.0.0.1:{port}"),
            )
            .env("IRONMAGE_EXECUTOR_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("IRONMAGE_POLL_MS", "300")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start ironmage");
        self.roles.push(Role {
            name: name.to_string(),
            child,
            log,
        });
        let health = if args[0] == "web" {
            "/api/health"
        } else {
            "/health"
        };
        let url = format!("http://127.0.0.1:{port}{health}");
        wait_until!(
            format!("{name} to answer {url}"),
            self,
            60,
            get_ok(&url).await
        );
        port
    }

    pub fn role(&mut self, name: &str) -> &mut Role {
        self.roles.iter_mut().find(|r| r.name == name).unwrap()
    }

    pub fn logs(&self) -> String {
        self.roles
            .iter()
            .map(|r| format!("--- {} ---\n{}", r.name, tail(&r.log, 30)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// An HTTP call; `None` when the server does not answer (it may be restarting).
pub async fn http(method: &str, url: &str, body: Option<&str>) -> Option<(u16, Value)> {
    let client = reqwest::Client::new();
    let request = match method {
        "POST" => client
            .post(url)
            .header("content-type", "application/json")
            .body(body.unwrap_or("").to_string()),
        _ => client.get(url),
    };
    let response = request.timeout(Duration::from_secs(30)).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(Value::Null)))
}

pub async fn get_ok(url: &str) -> Option<Value> {
    match http("GET", url, None).await {
        Some((200, v)) => Some(v),
        _ => None,
    }
}

pub async fn trigger(web: u16, variables: Value) -> String {
    let (status, body) = http(
        "POST",
        &format!("http://127.0.0.1:{web}/api/pipelines/demo_mlops/runs"),
        Some(&json!({"variables": variables}).to_string()),
    )
    .await
    .expect("web answers");
    assert_eq!(status, 202, "{body}");
    body["run_id"].as_str().unwrap().to_string()
}

pub async fn run_state(web: u16, id: &str) -> Option<Value> {
    get_ok(&format!("http://127.0.0.1:{web}/api/runs/{id}")).await
}

pub async fn wait_run(cluster: &Cluster, web: u16, id: &str, seconds: u64) -> Value {
    let run = wait_until!(
        format!("run {id} to end"),
        cluster,
        seconds,
        run_state(web, id)
            .await
            .filter(|r| !matches!(r["status"].as_str(), Some("queued" | "running")))
    );
    assert_eq!(run["status"], "success", "{run}\n{}", cluster.logs());
    run
}

pub async fn serving(port: u16) -> Option<String> {
    get_ok(&format!("http://127.0.0.1:{port}/health"))
        .await
        .and_then(|h| h["version"].as_str().map(str::to_string))
}
