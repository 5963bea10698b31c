//! The production topology as separate OS processes on the real PostgreSQL and Redis:
//! `ironmage web`, `scheduler`, `executor`, `predict`, each started alone.
//!
//! Each test gets its own PostgreSQL schema and Redis database. Tests named `destructive_…`
//! restart PostgreSQL or flush all of Redis, so the test script runs them alone.

use crate::cluster::*;
use crate::wait_until;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_run_the_whole_loop_and_every_replica_swaps() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let mut c = Cluster::new(&pg, &redis, 1);
    let web = c.start("web", &["web"], &[]).await;
    c.start("scheduler", &["scheduler"], &[]).await;
    c.start("executor", &["executor", "--concurrency", "2"], &[])
        .await;
    let predict_a = c.start("predict-a", &["predict"], &[]).await;
    // Replica B polls once a minute: it can only swap in time through the event bus.
    let predict_b = c
        .start("predict-b", &["predict"], &[("IRONMAGE_POLL_MS", "60000")])
        .await;

    let first = wait_run(&c, web, &trigger(web, json!({})).await, 120).await;
    let executor_pid = c.role("executor").child.id();
    assert!(
        first["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("-{executor_pid}-")),
        "run held by {}",
        first["holder"]
    );
    let v1 = first["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    for port in [predict_a, predict_b] {
        wait_until!(
            "the first version to be served",
            c,
            10,
            serving(port).await.filter(|v| v == &v1)
        );
    }
    let (status, answer) = http(
        "POST",
        &format!("http://127.0.0.1:{predict_a}/predict"),
        Some(CUSTOMER),
    )
    .await
    .unwrap();
    assert_eq!(
        (status, answer["model_version"].as_str()),
        (200, Some(v1.as_str())),
        "{answer}"
    );

    let second = wait_run(&c, web, &trigger(web, json!({"seed": 7})).await, 120).await;
    let v2 = second["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    let swapped = Instant::now();
    for port in [predict_a, predict_b] {
        wait_until!(
            "both replicas to serve the new version",
            c,
            5,
            serving(port).await.filter(|v| v == &v2)
        );
    }
    assert!(
        swapped.elapsed() < Duration::from_secs(3),
        "swap took {:?}",
        swapped.elapsed()
    );

    // A run limited to one block (issue 15) goes through Redis to the executor process like
    // any other, which takes the block's input from the stored outputs in PostgreSQL.
    let (status, body) = http(
        "POST",
        &format!("http://127.0.0.1:{web}/api/pipelines/demo_mlops/runs"),
        Some(r#"{"block": "training", "variables": {"seed": 7}}"#),
    )
    .await
    .unwrap();
    assert_eq!(status, 202, "{body}");
    let limited = wait_run(&c, web, body["run_id"].as_str().unwrap(), 120).await;
    assert_eq!(
        limited["scope"],
        json!({"mode": "block", "block": "training"})
    );
    assert!(
        limited["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("-{executor_pid}-")),
        "{limited}"
    );
    let status_of = |name: &str| {
        let blocks = limited["blocks"].as_array().unwrap();
        let b = blocks.iter().find(|b| b["block"] == name).unwrap();
        b["status"].as_str().unwrap().to_string()
    };
    assert_eq!(
        (
            status_of("preprocessing"),
            status_of("training"),
            status_of("registry")
        ),
        ("skipped".into(), "success".into(), "skipped".into())
    );

    // A promotion made through the web process reaches both replicas (a rollback).
    let (status, _) = http(
        "POST",
        &format!("http://127.0.0.1:{web}/api/models/churn/versions/1/transition"),
        Some(r#"{"stage": "Production", "reason": "rollback"}"#),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    for port in [predict_a, predict_b] {
        wait_until!(
            "both replicas to roll back",
            c,
            5,
            serving(port).await.filter(|v| v == &v1)
        );
    }
    // The registry lives in PostgreSQL: the schema holds both versions.
    let (_, model) = http(
        "GET",
        &format!("http://127.0.0.1:{web}/api/models/churn"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(model["versions"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_killed_mid_run_is_replaced_and_the_run_completes_once() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let mut c = Cluster::new(&pg, &redis, 2);
    let web = c.start("web", &["web"], &[]).await;
    c.start(
        "scheduler",
        &["scheduler"],
        &[("IRONMAGE_RUN_LEASE_SECS", "6")],
    )
    .await;
    c.start("executor-a", &["executor", "--concurrency", "1"], &[])
        .await;
    let id = trigger(web, json!({"rows": 60000})).await;
    let pid_a = c.role("executor-a").child.id();
    wait_until!(
        "executor A to be training",
        c,
        60,
        run_state(web, &id).await.filter(|r| {
            r["holder"]
                .as_str()
                .is_some_and(|h| h.contains(&format!("-{pid_a}-")))
                && r["blocks"].as_array().is_some_and(|b| {
                    b.iter()
                        .any(|b| b["block"] == "training" && b["status"] == "running")
                })
        })
    );
    c.start("executor-b", &["executor", "--concurrency", "1"], &[])
        .await;
    let pid_b = c.role("executor-b").child.id();
    Command::new("kill")
        .args(["-9", &pid_a.to_string()])
        .status()
        .unwrap();
    let run = wait_run(&c, web, &id, 240).await;
    assert!(
        run["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("-{pid_b}-")),
        "{}",
        run["holder"]
    );
    // Completed exactly once: one registered version and one deployment decision for the run.
    let (_, model) = http(
        "GET",
        &format!("http://127.0.0.1:{web}/api/models/churn"),
        None,
    )
    .await
    .unwrap();
    let versions: Vec<&Value> = model["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["run_id"] == id.as_str())
        .collect();
    assert_eq!(versions.len(), 1, "{model}");
    let deployments = model["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["run_id"] == id.as_str())
        .count();
    assert_eq!(deployments, 1, "{model}");
    assert!(
        tail(&c.role("scheduler").log.clone(), 200).contains("re-queued"),
        "{}",
        c.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_redis_flushall_loses_no_queued_run() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let mut c = Cluster::new(&pg, &redis, 3);
    let web = c.start("web", &["web"], &[]).await;
    c.start("scheduler", &["scheduler"], &[]).await;
    // No executor yet: the runs wait in the Redis stream, and Redis loses them.
    let mut ids = Vec::new();
    for seed in 0..3 {
        ids.push(trigger(web, json!({"seed": seed, "rows": 200})).await);
    }
    assert_eq!(redis_cli(&c.redis_url, &["XLEN", "ironmage:runs"]), "3");
    redis_cli(&c.redis_url, &["FLUSHALL"]);
    assert_eq!(redis_cli(&c.redis_url, &["EXISTS", "ironmage:runs"]), "0");
    // The scheduler notices at its next tick and puts them back from PostgreSQL.
    wait_until!(
        "the scheduler to re-enqueue",
        c,
        30,
        (redis_cli(&c.redis_url, &["XLEN", "ironmage:runs"])
            .parse::<u32>()
            .unwrap_or(0)
            >= 3)
            .then_some(())
    );
    c.start("executor", &["executor", "--concurrency", "2"], &[])
        .await;
    for id in &ids {
        wait_run(&c, web, id, 120).await;
    }
    assert_eq!(c.redis_db, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_postgres_restart_is_survived() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let mut c = Cluster::new(&pg, &redis, 4);
    let web = c.start("web", &["web"], &[]).await;
    c.start("scheduler", &["scheduler"], &[]).await;
    c.start("executor", &["executor", "--concurrency", "2"], &[])
        .await;
    let predict = c.start("predict", &["predict"], &[]).await;
    let first = wait_run(&c, web, &trigger(web, json!({})).await, 120).await;
    let v1 = first["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until!(
        "v1 served",
        c,
        10,
        serving(predict).await.filter(|v| v == &v1)
    );

    let cluster = std::fs::read_dir("/etc/postgresql")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let restarted = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            cluster.to_str().unwrap(),
            "main",
            "restart",
        ])
        .status()
        .expect("pg_ctlcluster");
    assert!(restarted.success());
    // The model is in memory: predictions go on while the database restarts.
    let (status, _) = http(
        "POST",
        &format!("http://127.0.0.1:{predict}/predict"),
        Some(CUSTOMER),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    // The services reconnect by themselves: a new run goes through the whole loop.
    let url = format!("http://127.0.0.1:{web}/api/pipelines/demo_mlops/runs");
    let id = wait_until!(
        "web to accept a run again",
        c,
        60,
        match http("POST", &url, Some(r#"{"variables": {"seed": 5}}"#)).await {
            Some((202, body)) => body["run_id"].as_str().map(str::to_string),
            _ => None,
        }
    );
    let second = wait_run(&c, web, &id, 120).await;
    let v2 = second["summary"]["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until!(
        "v2 served after the restart",
        c,
        15,
        serving(predict).await.filter(|v| v == &v2)
    );
    // Nothing lost: both runs and both versions are there.
    let (_, runs) = http("GET", &format!("http://127.0.0.1:{web}/api/runs"), None)
        .await
        .unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_lead_one_at_a_time_and_fail_over() {
    let Some((pg, redis)) = service_urls() else {
        return;
    };
    let mut c = Cluster::new(&pg, &redis, 5);
    c.start("scheduler-a", &["scheduler"], &[]).await;
    c.start("scheduler-b", &["scheduler"], &[]).await;
    let leading = |c: &Cluster, name: &str| {
        let role = c.roles.iter().find(|r| r.name == name).unwrap();
        std::fs::read_to_string(&role.log)
            .unwrap_or_default()
            .contains("leading")
    };
    let first = wait_until!("a scheduler to lead", c, 30, {
        match (leading(&c, "scheduler-a"), leading(&c, "scheduler-b")) {
            (true, false) => Some("scheduler-a"),
            (false, true) => Some("scheduler-b"),
            (true, true) => panic!("both schedulers lead\n{}", c.logs()),
            (false, false) => None,
        }
    });
    // Both keep ticking, and still only one leads.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let other = if first == "scheduler-a" {
        "scheduler-b"
    } else {
        "scheduler-a"
    };
    assert!(!leading(&c, other), "{}", c.logs());
    // The leader dies without letting go: the other takes over once the lease expires.
    let pid = c.role(first).child.id();
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    wait_until!(
        "the other scheduler to take over",
        c,
        40,
        leading(&c, other).then_some(())
    );
}
