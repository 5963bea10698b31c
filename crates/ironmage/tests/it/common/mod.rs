//! A whole embedded stack on ephemeral loopback ports, in a temp folder, for one test.
#![allow(dead_code)]

use ironmage::stack::{Stack, StackOptions};
use ironmage_core::pipeline::Project;
use ironmage_core::{Platform, PlatformConfig};
use ironmage_executor::ExecutorConfig;
use ironmage_prediction::PredictionConfig;
use ironmage_scheduler::SchedulerConfig;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const CUSTOMER: &str = r#"{"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3, "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8, "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}"#;

pub fn customer() -> Value {
    serde_json::from_str(CUSTOMER).unwrap()
}

pub struct TestStack {
    pub stack: Stack,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub web: String,
    pub predict: String,
}

pub fn platform_config(dir: &std::path::Path) -> PlatformConfig {
    let project = dir.join("project");
    Project::init(&project).unwrap();
    PlatformConfig {
        data_dir: dir.join("data"),
        database_url: None,
        artifact_dir: None,
        project_dir: project,
        redis_url: None,
    }
}

impl TestStack {
    pub async fn start() -> TestStack {
        TestStack::start_serving(ironmage_prediction::DEFAULT_MODEL).await
    }

    /// A stack whose `/predict` answers with `model`; Python models run on the test
    /// interpreter (`IRONMAGE_TEST_PYTHON`) when there is one.
    pub async fn start_serving(model: &str) -> TestStack {
        let model = model.to_string();
        TestStack::start_with(move |c| c.model = model).await
    }

    /// A stack whose prediction settings `change` adjusts.
    pub async fn start_with(change: impl FnOnce(&mut PredictionConfig)) -> TestStack {
        let dir = tempfile::tempdir().unwrap();
        let mut python = ironmage_flavors::PythonOptions::default();
        if let Ok(p) = std::env::var("IRONMAGE_TEST_PYTHON") {
            python.interpreter = p.into();
        }
        let platform = Platform::open(&platform_config(dir.path())).await.unwrap();
        let options = StackOptions {
            web_addr: Some("127.0.0.1:0".into()),
            predict: Some(("127.0.0.1:0".into(), {
                let mut config = PredictionConfig {
                    poll_interval: Duration::from_millis(100),
                    body_limit: 64 * 1024,
                    cache_dir: dir.path().join("model-cache"),
                    python,
                    ..Default::default()
                };
                change(&mut config);
                config
            })),
            executor: Some(ExecutorConfig::new(2)),
            scheduler: Some(SchedulerConfig::default()),
            health: None,
        };
        let stack = Stack::start(platform, options).await.unwrap();
        let web = format!("http://{}", stack.web_addr.unwrap());
        let predict = format!("http://{}", stack.predict_addr.unwrap());
        TestStack {
            stack,
            dir,
            http: reqwest::Client::new(),
            web,
            predict,
        }
    }

    pub async fn get(&self, url: &str) -> (u16, Value) {
        let resp = self.http.get(url).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, url: &str, body: &Value) -> (u16, Value) {
        self.post_raw(url, body.to_string()).await
    }

    pub async fn post_raw(&self, url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `method` on the web API's `path` with an optional JSON body, as the anonymous user.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send_as(method, path, None, body).await
    }

    /// `method` on the web API's `path` with an optional JSON body, as `user` (the
    /// `X-Ironmage-User` header the registry records) when given.
    pub async fn send_as(
        &self,
        method: &str,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.web),
        );
        if let Some(u) = user {
            req = req.header("X-Ironmage-User", u);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Trigger a run of demo_mlops through the API and wait until it ends.
    pub async fn run_demo(&self, variables: Value) -> Value {
        let (status, body) = self
            .post(
                &format!("{}/api/pipelines/demo_mlops/runs", self.web),
                &json!({"variables": variables}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let id = body["run_id"].as_str().unwrap().to_string();
        self.wait_run(&id).await
    }

    pub async fn wait_run(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, run) = self.get(&format!("{}/api/runs/{id}", self.web)).await;
            assert_eq!(status, 200, "{run}");
            if !matches!(run["status"].as_str(), Some("queued" | "running")) {
                return run;
            }
            assert!(Instant::now() < deadline, "run {id} did not end: {run}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until /health reports `label` (the swap happened).
    pub async fn wait_serving(&self, label: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, health) = self.get(&format!("{}/health", self.predict)).await;
            if health["version"] == label {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still serving {health} instead of {label}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn prediction_count(&self) -> i64 {
        self.stack
            .platform
            .prediction_log()
            .prediction_count("churn")
            .await
            .unwrap()
    }
}
