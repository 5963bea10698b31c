//! An executor that dies after recording a run's outcome and before acknowledging its queue
//! message (the `executor.before_ack` fail point): the message is delivered again to another
//! executor, whose claim in the store finds the run finished, so the run ran once and the
//! message is acknowledged. Needs Redis (`IRONMAGE_TEST_REDIS_URL`; its database 10, flushed).

use ironmage_core::artifacts::ArtifactStore;
use ironmage_core::events::EventBus;
use ironmage_core::pipeline::Project;
use ironmage_core::queue::{Queue, RedisQueue};
use ironmage_core::store::{RunStatus, Store};
use ironmage_core::Platform;
use ironmage_executor::ExecutorConfig;
use serde_json::Map;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Redis database 10 of the test server, or `None` (skip) outside CI when none is configured.
fn redis_url() -> Option<String> {
    match std::env::var("IRONMAGE_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => {
            // Whatever database the URL names, this test takes number 10.
            let url = url.trim();
            let host_end = url.find("://").map_or(0, |i| i + 3);
            let base = match url[host_end..].find('/') {
                Some(slash) => &url[..host_end + slash],
                None => url,
            };
            Some(format!("{base}/10"))
        }
        _ if std::env::var_os("CI").is_some() => {
            panic!("IRONMAGE_TEST_REDIS_URL is not set and CI is: this test must not be skipped")
        }
        _ => {
            eprintln!("SKIPPED: IRONMAGE_TEST_REDIS_URL is not set");
            None
        }
    }
}

async fn pending(url: &str) -> i64 {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg("ironmage:runs")
        .arg("executors")
        .query_async(&mut conn)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("unexpected XPENDING head {other:?}"),
        },
        other => panic!("unexpected XPENDING reply {other:?}"),
    }
}

fn executor(id: &str) -> ExecutorConfig {
    ExecutorConfig {
        concurrency: 1,
        id: id.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_ack_runs_the_run_once() {
    let Some(url) = redis_url() else { return };
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("project/pipelines/p");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("pipeline.yaml"),
        "blocks:\n- {name: a, kind: noop}\n",
    )
    .unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ironmage.db").display()
    ))
    .await
    .unwrap();
    let queue = Queue::Redis(
        RedisQueue::connect(&url, Duration::from_millis(300))
            .await
            .unwrap(),
    );
    let p = Platform::assemble(
        store,
        ArtifactStore::open(dir.path().join("artifacts")).unwrap(),
        queue,
        EventBus::local(),
        Project::new(dir.path().join("project")),
        ironmage_core::secrets::Secrets::default(),
    );
    let run = p.runs.trigger_run("p", Map::new(), "test").await.unwrap();

    // The first executor runs it, then "dies" before acknowledging: its worker ends.
    fail::cfg("executor.before_ack", "panic").unwrap();
    let (_stop, shutdown) = watch::channel(false);
    tokio::time::timeout(
        Duration::from_secs(30),
        ironmage_executor::run(p.clone(), executor("first"), shutdown.clone()),
    )
    .await
    .expect("the first executor's worker died at the fail point");
    fail::remove("executor.before_ack");
    let after_first = p.runs.run(&run.id).await.unwrap();
    assert_eq!(after_first.status, RunStatus::Success);
    assert_eq!(
        pending(&url).await,
        1,
        "the message is still unacknowledged"
    );

    // A second executor takes the message over, finds the run finished, and acknowledges.
    let (stop, shutdown) = watch::channel(false);
    let second = tokio::spawn(ironmage_executor::run(
        p.clone(),
        executor("second"),
        shutdown,
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while pending(&url).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the message was never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    second.await.unwrap();
    let run = p.runs.run(&run.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(
        run.holder, after_first.holder,
        "the run was not executed again"
    );
    assert_eq!(run.ended_at, after_first.ended_at);
}
