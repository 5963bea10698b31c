//! Crashes at exact points of a run's life, made with fail points instead of killing a process
//! at a lucky moment: after the claim, and after the work but before its outcome is recorded.
//! Either way the run is given back once its lease lapses, runs again, and ends once.
//! (The real kills are in the ironmage crate's topology tests.)

use ironmage_core::store::RunStatus;
use ironmage_core::{Platform, PlatformConfig};
use serde_json::Map;
use std::time::Duration;

const NOOP: &str = "blocks:\n- {name: a, kind: noop}\n";

async fn platform(dir: &std::path::Path) -> Platform {
    let folder = dir.join("project/pipelines/p");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("pipeline.yaml"), NOOP).unwrap();
    Platform::open(&PlatformConfig {
        data_dir: dir.join("data"),
        database_url: None,
        artifact_dir: None,
        project_dir: dir.join("project"),
        redis_url: None,
    })
    .await
    .unwrap()
}

/// Execute `run_id` as `holder` with the fail point `point` panicking: the executor "dies".
async fn crash_at(p: &Platform, point: &str, run_id: &str, holder: &str) {
    fail::cfg(point, "panic").unwrap();
    let (runs, id, holder) = (p.runs.clone(), run_id.to_string(), holder.to_string());
    let died = tokio::spawn(async move { runs.execute_run(&id, &holder, &|_| {}).await }).await;
    fail::remove(point);
    assert!(
        died.unwrap_err().is_panic(),
        "the fail point {point} did not fire"
    );
}

/// After the crash: the run is still `running`, held by the dead executor; once its lease lapses
/// the scheduler's sweep gives it back, and another executor runs it to the end, once.
async fn recovered_once(p: &Platform, run_id: &str) {
    assert_eq!(p.runs.run(run_id).await.unwrap().status, RunStatus::Running);
    // Past one heartbeat period (2 s): a heartbeat the crash left running would have renewed
    // the lease by now, and the sweep below would find nothing stale.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        p.runs.requeue_stale(Duration::from_secs(1)).await.unwrap(),
        1,
        "the crashed run is given back"
    );
    let outcome = p
        .runs
        .execute_run(run_id, "executor-2", &|_| {})
        .await
        .unwrap()
        .expect("the re-queued run is claimed again");
    assert_eq!(outcome.status, RunStatus::Success);
    // A late delivery of the same run (the dead executor's message) does nothing.
    assert!(p
        .runs
        .execute_run(run_id, "executor-3", &|_| {})
        .await
        .unwrap()
        .is_none());
    let run = p.runs.run(run_id).await.unwrap();
    assert_eq!(
        (run.status, run.holder.as_deref()),
        (RunStatus::Success, Some("executor-2"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_the_claim_gives_the_run_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let run = p.runs.create_run("p", Map::new(), "test").await.unwrap();
    crash_at(&p, "run.after_claim", &run.id, "executor-1").await;
    recovered_once(&p, &run.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_outcome_is_recorded_runs_the_run_again_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let run = p.runs.create_run("p", Map::new(), "test").await.unwrap();
    crash_at(&p, "run.before_finish", &run.id, "executor-1").await;
    recovered_once(&p, &run.id).await;
}
