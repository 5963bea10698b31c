//! Orchestration on a real embedded platform (SQLite, artifacts on disk): triggers fired with a
//! controlled clock, conditions, and the run limit.

use crate::common::platform::{
    demo_platform, open_platform, run_pipeline, run_scoped, write_pipeline,
};
use chrono::{DateTime, Utc};
use ironmage_core::store::{BlockStatus, RunScope, RunStatus};
use ironmage_core::triggers::TriggerFields;
use ironmage_core::{ErrorCode, Platform};
use serde_json::{json, Map, Value};
use std::path::Path;

struct Env {
    platform: Platform,
    _dir: tempfile::TempDir,
}

/// A platform whose project holds the given pipelines (name, pipeline.yaml).
async fn env(pipelines: &[(&str, &str)]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    for (name, yaml) in pipelines {
        write_pipeline(dir.path(), name, yaml);
    }
    let platform = open_platform(dir.path(), None).await;
    Env {
        platform,
        _dir: dir,
    }
}

const NOOP: &str = "variables: {label: x}\nblocks:\n- {name: a, kind: noop}\n";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn fields(value: Value) -> TriggerFields {
    serde_json::from_value(value).unwrap()
}

async fn runs_of(platform: &Platform, pipeline: &str) -> Vec<ironmage_core::store::RunDetail> {
    platform.runs.list_runs(Some(pipeline), 100).await.unwrap()
}

#[tokio::test]
async fn a_cron_trigger_fires_once_per_fire_time_in_its_time_zone() {
    let e = env(&[("p", NOOP)]).await;
    let p = &e.platform;
    let trigger = p
        .triggers.create_trigger("p", &fields(json!({"name": "sunday", "kind": "cron", "cron": "0 2 * * SUN", "timezone": "Europe/Paris", "variables": {"label": "weekly"}})), "api")
        .await
        .unwrap();
    assert_eq!(trigger.id, "p.sunday");

    // Friday: the first tick schedules it for Sunday 2 AM Paris time (01:00 UTC in winter).
    assert!(p
        .triggers
        .fire_due_triggers(at("2026-11-20T12:00:00Z"))
        .await
        .unwrap()
        .is_empty());
    let scheduled = p.triggers.get("p.sunday").await.unwrap();
    assert_eq!(
        scheduled.next_fire_at.as_deref(),
        Some("2026-11-22T01:00:00.000Z")
    );
    assert!(p
        .triggers
        .fire_due_triggers(at("2026-11-22T00:59:59Z"))
        .await
        .unwrap()
        .is_empty());

    let fired = p
        .triggers
        .fire_due_triggers(at("2026-11-22T01:00:04Z"))
        .await
        .unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    let run_id = fired[0].run_id.clone().expect("a run was started");
    let run = p.runs.run(&run_id).await.unwrap();
    assert_eq!(
        (run.trigger.as_str(), run.status),
        ("p.sunday", RunStatus::Queued)
    );
    assert_eq!(run.variables["label"], json!("weekly"));

    // Handled: the next tick does not fire again, and the next time is a week later.
    assert!(p
        .triggers
        .fire_due_triggers(at("2026-11-22T01:00:09Z"))
        .await
        .unwrap()
        .is_empty());
    let after = p.triggers.get("p.sunday").await.unwrap();
    assert_eq!(
        after.next_fire_at.as_deref(),
        Some("2026-11-29T01:00:00.000Z")
    );
    assert_eq!(after.last_run_id.as_deref(), Some(run_id.as_str()));
    assert_eq!(runs_of(p, "p").await.len(), 1);
}

#[tokio::test]
async fn missed_fire_times_are_skipped_or_run_once_as_the_policy_says() {
    let e = env(&[("p", NOOP)]).await;
    let p = &e.platform;
    for (name, catch_up) in [("skips", "skip"), ("catches_up", "once")] {
        p.triggers.create_trigger(
            "p",
            &fields(
                json!({"name": name, "kind": "interval", "every_secs": 60, "catch_up": catch_up}),
            ),
            "api",
        )
        .await
        .unwrap();
    }
    p.triggers
        .fire_due_triggers(at("2026-11-20T12:00:00Z"))
        .await
        .unwrap();
    // The scheduler was down for an hour: sixty fire times were missed.
    let fired = p
        .triggers
        .fire_due_triggers(at("2026-11-20T13:00:30Z"))
        .await
        .unwrap();
    assert_eq!(fired.len(), 2);
    let skipped = fired.iter().find(|f| f.trigger == "p.skips").unwrap();
    assert!(skipped.run_id.is_none());
    assert!(
        skipped.outcome.starts_with("skipped: missed"),
        "{}",
        skipped.outcome
    );
    let caught = fired.iter().find(|f| f.trigger == "p.catches_up").unwrap();
    assert!(caught.run_id.is_some(), "{}", caught.outcome);
    assert_eq!(
        runs_of(p, "p").await.len(),
        1,
        "one run for all the missed times"
    );
    // Both go on from now, on their cadence.
    for id in ["p.skips", "p.catches_up"] {
        let t = p.triggers.get(id).await.unwrap();
        assert_eq!(t.next_fire_at.as_deref(), Some("2026-11-20T13:01:30.000Z"));
    }
    // On time again: both fire.
    let fired = p
        .triggers
        .fire_due_triggers(at("2026-11-20T13:01:31Z"))
        .await
        .unwrap();
    assert!(fired.iter().all(|f| f.run_id.is_some()), "{fired:?}");
}

#[tokio::test]
async fn disabled_triggers_do_not_fire_and_count_from_now_when_enabled() {
    let e = env(&[("p", NOOP)]).await;
    let p = &e.platform;
    p.triggers
        .create_trigger(
            "p",
            &fields(
                json!({"name": "often", "kind": "interval", "every_secs": 10, "enabled": false}),
            ),
            "api",
        )
        .await
        .unwrap();
    assert!(p
        .triggers
        .fire_due_triggers(at("2026-11-20T12:00:00Z"))
        .await
        .unwrap()
        .is_empty());
    assert!(p
        .triggers
        .fire_due_triggers(at("2026-11-20T12:05:00Z"))
        .await
        .unwrap()
        .is_empty());
    p.triggers
        .set_trigger_enabled("p.often", true)
        .await
        .unwrap();
    assert!(
        p.triggers
            .fire_due_triggers(at("2026-11-20T12:06:00Z"))
            .await
            .unwrap()
            .is_empty(),
        "scheduled, not fired"
    );
    assert_eq!(
        p.triggers
            .fire_due_triggers(at("2026-11-20T12:06:10Z"))
            .await
            .unwrap()
            .len(),
        1
    );
    let err = p
        .triggers
        .fire_trigger("p.nope", Map::new())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn the_run_limit_holds_for_api_and_scheduled_fires() {
    let limited =
        "max_concurrent_runs: 1\nvariables: {label: x}\nblocks:\n- {name: a, kind: noop}\n";
    let e = env(&[("p", limited)]).await;
    let p = &e.platform;
    p.triggers
        .create_trigger("p", &fields(json!({"name": "hook", "kind": "api"})), "api")
        .await
        .unwrap();
    p.triggers
        .create_trigger(
            "p",
            &fields(json!({"name": "tick", "kind": "interval", "every_secs": 5})),
            "api",
        )
        .await
        .unwrap();
    let first = p.triggers.fire_trigger("p.hook", Map::new()).await.unwrap();
    let refused = p
        .triggers
        .fire_trigger("p.hook", Map::new())
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert!(
        refused.message.contains("max_concurrent_runs: 1"),
        "{}",
        refused.message
    );

    p.triggers
        .fire_due_triggers(at("2026-11-20T12:00:00Z"))
        .await
        .unwrap();
    let fired = p
        .triggers
        .fire_due_triggers(at("2026-11-20T12:00:05Z"))
        .await
        .unwrap();
    assert_eq!(fired[0].run_id, None);
    assert!(
        fired[0].outcome.contains("max_concurrent_runs"),
        "{}",
        fired[0].outcome
    );

    // Once the active run ends, the next fire starts one.
    p.runs
        .execute_run(&first.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    let fired = p
        .triggers
        .fire_due_triggers(at("2026-11-20T12:00:10Z"))
        .await
        .unwrap();
    assert!(fired[0].run_id.is_some(), "{}", fired[0].outcome);
}

#[tokio::test]
async fn a_file_trigger_fires_once_per_new_file_with_its_path() {
    let with_path = "variables: {csv_path: ''}\nblocks:\n- {name: a, kind: noop}\n";
    let e = env(&[("p", with_path)]).await;
    let p = &e.platform;
    let folder = p.project().root().join("incoming");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("old.csv"), "a\n1\n").unwrap();
    p.triggers.create_trigger("p", &fields(json!({"name": "upload", "kind": "file", "path": "incoming", "pattern": "*.csv", "variable": "csv_path"})), "api")
        .await
        .unwrap();
    std::fs::write(folder.join("new.csv"), "a\n2\n").unwrap();
    std::fs::write(folder.join("notes.txt"), "not a csv").unwrap();

    // Just written: not settled yet.
    assert!(p
        .triggers
        .fire_due_triggers(Utc::now())
        .await
        .unwrap()
        .is_empty());
    let later = Utc::now() + chrono::Duration::seconds(2);
    let fired = p.triggers.fire_due_triggers(later).await.unwrap();
    assert_eq!(fired.len(), 1, "only the new csv: {fired:?}");
    let run = p
        .runs
        .run(fired[0].run_id.as_deref().unwrap())
        .await
        .unwrap();
    let path = run.variables["csv_path"].as_str().unwrap().to_string();
    assert!(Path::new(&path).ends_with("incoming/new.csv"), "{path}");
    assert!(
        p.triggers
            .fire_due_triggers(later)
            .await
            .unwrap()
            .is_empty(),
        "once per file"
    );
}

#[tokio::test]
async fn bad_triggers_are_refused_with_the_field_named() {
    let e = env(&[("p", NOOP)]).await;
    let p = &e.platform;
    let cases = [
        (
            json!({"name": "t", "kind": "cron", "cron": "every day"}),
            "cron",
        ),
        (
            json!({"name": "t", "kind": "cron", "cron": "0 2 * * *", "timezone": "Paris"}),
            "timezone",
        ),
        (
            json!({"name": "t", "kind": "interval", "every_secs": 0}),
            "every_secs",
        ),
        (
            json!({"name": "t", "kind": "api", "every_secs": 5}),
            "every_secs",
        ),
        (json!({"name": "T!", "kind": "api"}), "name"),
        (
            json!({"name": "t", "kind": "api", "variables": {"nope": 1}}),
            "variables.nope",
        ),
        (
            json!({"name": "t", "kind": "file", "path": "in", "variable": "nope"}),
            "variable",
        ),
        (
            json!({"name": "t", "kind": "api", "catch_up": "always"}),
            "catch_up",
        ),
    ];
    for (body, field) in cases {
        let err = p
            .triggers
            .create_trigger("p", &fields(body.clone()), "api")
            .await
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{body}: {err}");
    }
    let err = p
        .triggers
        .create_trigger(
            "missing",
            &fields(json!({"name": "t", "kind": "api"})),
            "api",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    p.triggers
        .create_trigger("p", &fields(json!({"name": "t", "kind": "api"})), "api")
        .await
        .unwrap();
    let err = p
        .triggers
        .create_trigger("p", &fields(json!({"name": "t", "kind": "api"})), "api")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AlreadyExists);
    assert!(
        p.triggers.list(None).await.unwrap().len() == 1,
        "nothing half-written"
    );
}

#[tokio::test]
async fn project_triggers_are_added_once_and_then_the_store_decides() {
    let e = env(&[]).await;
    let p = &e.platform;
    ironmage_core::pipeline::Project::init(p.project().root()).unwrap();
    assert_eq!(p.triggers.sync_project_triggers().await.unwrap(), 1);
    let weekly = p.triggers.get("demo_mlops.weekly_retrain").await.unwrap();
    assert!(!weekly.enabled, "shipped disabled");
    assert_eq!(weekly.source, "project");
    p.triggers
        .set_trigger_enabled("demo_mlops.weekly_retrain", true)
        .await
        .unwrap();
    assert_eq!(p.triggers.sync_project_triggers().await.unwrap(), 0);
    assert!(
        p.triggers
            .get("demo_mlops.weekly_retrain")
            .await
            .unwrap()
            .enabled,
        "enabling survives a restart"
    );
}

#[tokio::test]
async fn conditions_skip_a_block_and_its_downstream() {
    let branches = "variables: {deploy: true}\nblocks:\n\
        - {name: start, kind: noop}\n\
        - {name: ship, kind: noop, upstream: [start], when: \"variables.deploy\"}\n\
        - {name: after_ship, kind: noop, upstream: [ship]}\n\
        - {name: hold, kind: noop, upstream: [start], when: \"not variables.deploy\"}\n";
    let e = env(&[("p", branches)]).await;
    let p = &e.platform;
    for (deploy, ran, skipped) in [
        (true, vec!["start", "ship", "after_ship"], vec!["hold"]),
        (false, vec!["start", "hold"], vec!["ship", "after_ship"]),
    ] {
        let mut vars = Map::new();
        vars.insert("deploy".into(), json!(deploy));
        let run = p.runs.create_run("p", vars, "test").await.unwrap();
        let outcome = p
            .runs
            .execute_run(&run.id, "test", &|_| {})
            .await
            .unwrap()
            .unwrap();
        assert_eq!(outcome.status, RunStatus::Success);
        let blocks = p.runs.run_detail(&run.id).await.unwrap().blocks;
        let status = |name: &str| blocks.iter().find(|b| b.block == name).unwrap().status;
        for name in ran {
            assert_eq!(status(name), BlockStatus::Success, "deploy={deploy} {name}");
        }
        for name in skipped {
            assert_eq!(status(name), BlockStatus::Skipped, "deploy={deploy} {name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The engine: retries, timeouts, parallel branches, cancel, re-run from the failed block.
// `command` blocks run real shell lines, so what is tested is what users run.

fn block<'a>(
    blocks: &'a [ironmage_core::store::BlockRun],
    name: &str,
) -> &'a ironmage_core::store::BlockRun {
    blocks
        .iter()
        .find(|b| b.block == name)
        .unwrap_or_else(|| panic!("no block {name}"))
}

async fn run_once(
    p: &Platform,
    pipeline: &str,
) -> (
    ironmage_core::pipeline::RunOutcome,
    Vec<ironmage_core::store::BlockRun>,
) {
    run_pipeline(p, pipeline, Map::new()).await
}

fn millis(a: &Option<String>) -> DateTime<Utc> {
    at(a.as_deref().expect("a time"))
}

#[tokio::test]
async fn retries_back_off_until_an_attempt_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("attempts");
    let flaky = format!(
        "blocks:\n- name: flaky\n  kind: command\n  retries: 3\n  retry_delay_ms: 20\n  config:\n    shell: \"n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; echo attempt $n; [ $n -ge 3 ]\"\n",
        c = counter.display()
    );
    let e = env(&[("p", &flaky)]).await;
    let (outcome, blocks) = run_once(&e.platform, "p").await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let flaky = block(&blocks, "flaky");
    assert_eq!((flaky.status, flaky.attempts), (BlockStatus::Success, 3));
    let log = flaky.logs.join("\n");
    assert!(
        log.contains("attempt 1 failed") && log.contains("retrying in 20 ms"),
        "{log}"
    );
    assert!(
        log.contains("attempt 2 failed") && log.contains("retrying in 40 ms"),
        "{log}"
    );
}

#[tokio::test]
async fn a_timeout_fails_the_block_and_kills_its_command() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    let slow = format!(
        "blocks:\n- name: slow\n  kind: command\n  timeout_secs: 0.3\n  config:\n    shell: \"sleep 2 && touch {}\"\n- {{name: after, kind: noop, upstream: [slow]}}\n",
        marker.display()
    );
    let e = env(&[("p", &slow)]).await;
    let (outcome, blocks) = run_once(&e.platform, "p").await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let slow = block(&blocks, "slow");
    assert_eq!(slow.status, BlockStatus::Failed);
    assert!(
        slow.error
            .as_deref()
            .unwrap()
            .contains("timed out after 0.3 s"),
        "{:?}",
        slow.error
    );
    assert_eq!(block(&blocks, "after").status, BlockStatus::UpstreamFailed);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(
        !marker.exists(),
        "the timed-out command was killed, not left running"
    );
}

#[tokio::test]
async fn independent_branches_run_at_the_same_time_within_the_concurrency() {
    let branches = |concurrency: usize| {
        format!(
            "concurrency: {concurrency}\nblocks:\n- {{name: start, kind: noop}}\n\
             - {{name: left, kind: command, upstream: [start], config: {{shell: 'sleep 0.4'}}}}\n\
             - {{name: right, kind: command, upstream: [start], config: {{shell: 'sleep 0.4'}}}}\n\
             - {{name: join, kind: noop, upstream: [left, right]}}\n"
        )
    };
    let e = env(&[("two", &branches(2)), ("one", &branches(1))]).await;
    for (pipeline, overlap) in [("two", true), ("one", false)] {
        let (outcome, blocks) = run_once(&e.platform, pipeline).await;
        assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
        let (l, r) = (block(&blocks, "left"), block(&blocks, "right"));
        let overlapped = millis(&l.started_at) < millis(&r.ended_at)
            && millis(&r.started_at) < millis(&l.ended_at);
        assert_eq!(
            overlapped, overlap,
            "{pipeline}: left {:?}..{:?}, right {:?}..{:?}",
            l.started_at, l.ended_at, r.started_at, r.ended_at
        );
        assert!(
            millis(&block(&blocks, "join").started_at)
                >= millis(&l.ended_at).max(millis(&r.ended_at))
        );
    }
}

#[tokio::test]
async fn a_failed_branch_leaves_independent_ones_running() {
    let yaml = "blocks:\n- {name: start, kind: noop}\n\
        - {name: broken, kind: command, upstream: [start], config: {shell: 'echo bad input >&2; exit 3'}}\n\
        - {name: fine, kind: noop, upstream: [start]}\n\
        - {name: after_fine, kind: noop, upstream: [fine]}\n\
        - {name: join, kind: noop, upstream: [broken, fine]}\n";
    let e = env(&[("p", yaml)]).await;
    let (outcome, blocks) = run_once(&e.platform, "p").await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(
        outcome
            .error
            .as_deref()
            .unwrap()
            .contains("block broken failed"),
        "{:?}",
        outcome.error
    );
    assert!(block(&blocks, "broken")
        .error
        .as_deref()
        .unwrap()
        .contains("bad input"));
    assert_eq!(block(&blocks, "after_fine").status, BlockStatus::Success);
    assert_eq!(block(&blocks, "join").status, BlockStatus::UpstreamFailed);
}

#[tokio::test]
async fn cancelling_a_running_run_stops_its_command_and_marks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    let yaml = format!(
        "blocks:\n- name: long\n  kind: command\n  config:\n    shell: \"echo started; sleep 3 && touch {}\"\n- {{name: after, kind: noop, upstream: [long]}}\n",
        marker.display()
    );
    let e = env(&[("p", &yaml)]).await;
    let p = e.platform.clone();
    let run = p.runs.create_run("p", Map::new(), "test").await.unwrap();
    let executing = {
        let (p, id) = (p.clone(), run.id.clone());
        tokio::spawn(async move { p.runs.execute_run(&id, "test", &|_| {}).await })
    };
    // Wait until the command runs, then cancel.
    loop {
        let blocks = p.runs.run_detail(&run.id).await.unwrap().blocks;
        if block(&blocks, "long").status == BlockStatus::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let flagged = p.runs.cancel_run(&run.id).await.unwrap();
    assert!(flagged.cancel_requested);
    let outcome = executing.await.unwrap().unwrap().unwrap();
    assert_eq!(outcome.status, RunStatus::Cancelled);
    let stored = p.runs.run(&run.id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Cancelled);
    let blocks = p.runs.run_detail(&run.id).await.unwrap().blocks;
    assert_eq!(block(&blocks, "long").status, BlockStatus::Cancelled);
    assert_eq!(block(&blocks, "after").status, BlockStatus::Cancelled);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert!(!marker.exists(), "the cancelled command was killed");
    let again = p.runs.cancel_run(&run.id).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
}

#[tokio::test]
async fn a_failed_run_reruns_from_the_failed_block_with_the_outputs_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let (loads, gate) = (dir.path().join("loads"), dir.path().join("gate_open"));
    let yaml = format!(
        "blocks:\n\
         - name: load\n  kind: command\n  config:\n    shell: \"echo x >> {loads}; printf 'a,b\\\\n1,2\\\\n3,4\\\\n' > $IRONMAGE_OUTPUT\"\n\
         - name: check\n  kind: command\n  upstream: [load]\n  config:\n    shell: \"test -f {gate} && cat $IRONMAGE_INPUT_LOAD > $IRONMAGE_OUTPUT\"\n\
         - {{name: done, kind: noop, upstream: [check]}}\n",
        loads = loads.display(),
        gate = gate.display()
    );
    let e = env(&[("p", &yaml)]).await;
    let p = &e.platform;
    let first = p.runs.create_run("p", Map::new(), "test").await.unwrap();
    let outcome = p
        .runs
        .execute_run(&first.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Failed);
    let err = p.runs.rerun("no-such-run").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);

    std::fs::write(&gate, "").unwrap();
    let rerun = p.runs.rerun(&first.id).await.unwrap();
    assert_eq!(rerun.rerun_of.as_deref(), Some(first.id.as_str()));
    assert_eq!(rerun.trigger, format!("rerun:{}", first.id));
    let outcome = p
        .runs
        .execute_run(&rerun.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let blocks = p.runs.run_detail(&rerun.id).await.unwrap().blocks;
    let load = block(&blocks, "load");
    assert_eq!((load.status, load.attempts), (BlockStatus::Success, 0));
    assert!(
        load.logs[0].starts_with("reused the output"),
        "{:?}",
        load.logs
    );
    assert_eq!(
        std::fs::read_to_string(&loads).unwrap().lines().count(),
        1,
        "load ran once in all"
    );
    assert_eq!(
        block(&blocks, "check").preview.as_ref().unwrap()["rows"],
        json!(2),
        "check got load's rows"
    );

    // Only failed or cancelled runs are re-run.
    let err = p.runs.rerun(&rerun.id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
}

// ---------------------------------------------------------------------------------------------
// Runs limited to some blocks (issue 15): one block alone, or a block and its downstream, on
// the stored outputs of the blocks feeding them.

/// Record a run limited to `scope` and execute it.
async fn run_limited(
    p: &Platform,
    pipeline: &str,
    variables: Map<String, Value>,
    scope: RunScope,
) -> (
    ironmage_core::store::Run,
    ironmage_core::pipeline::RunOutcome,
    Vec<ironmage_core::store::BlockRun>,
) {
    run_scoped(p, pipeline, variables, Some(scope)).await
}

/// Issue 15: the single-block run. `training` of the demo pipeline runs alone on the stored
/// output of the last run's `preprocessing`: same input (fingerprint and preview), upstream
/// blocks not run again, downstream blocks not run.
#[tokio::test]
async fn single_block_run_takes_its_upstream_outputs_from_the_last_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    let mut vars = Map::new();
    vars.insert("rows".into(), json!(300));
    let training = || RunScope::Block("training".into());

    // Nothing stored yet: a clear refusal naming the block, and nothing recorded.
    let err = p
        .runs
        .create_limited_run("demo_mlops", vars.clone(), "test", Some(training()))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(
        err.message
            .starts_with("block preprocessing has no stored output")
            && err.message.ends_with("run the pipeline once first"),
        "{}",
        err.message
    );
    assert!(runs_of(&p, "demo_mlops").await.is_empty());
    // Unknown blocks name their field.
    for (scope, field) in [
        (RunScope::Block("train".into()), "block"),
        (RunScope::FromBlock("train".into()), "from_block"),
    ] {
        let err = p
            .runs
            .create_limited_run("demo_mlops", vars.clone(), "test", Some(scope))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(err.field.as_deref(), Some(field), "{}", err.message);
        assert!(
            err.message.contains("has no block \"train\""),
            "{}",
            err.message
        );
    }

    let full = p
        .runs
        .create_run("demo_mlops", vars.clone(), "test")
        .await
        .unwrap();
    let full_outcome = p
        .runs
        .execute_run(&full.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        full_outcome.status,
        RunStatus::Success,
        "{:?}",
        full_outcome.error
    );
    let before = p.runs.run_detail(&full.id).await.unwrap().blocks;

    let (run, outcome, blocks) = run_limited(&p, "demo_mlops", vars.clone(), training()).await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert_eq!(run.scope, Some(training()));
    assert_eq!(
        p.runs.run(&run.id).await.unwrap().scope,
        Some(training()),
        "the run record keeps its mode"
    );
    // The block ran, on the same input as in the full run: its fingerprint (kind, config and
    // upstream fingerprints) is the full run's.
    let trained = block(&blocks, "training");
    assert_eq!(
        (trained.status, trained.attempts),
        (BlockStatus::Success, 1)
    );
    assert!(trained.started_at.is_some());
    assert_eq!(trained.fingerprint, block(&before, "training").fingerprint);
    assert_eq!(
        trained.preview.as_ref().unwrap()["metrics"]["auc_score"],
        block(&before, "training").preview.as_ref().unwrap()["metrics"]["auc_score"],
        "same data, same seed: same metrics"
    );
    // Its input did not run again: recorded not run, with the preview of the stored output.
    let input = block(&blocks, "preprocessing");
    assert_eq!(
        (input.status, input.attempts, input.started_at.as_deref()),
        (BlockStatus::Skipped, 0, None)
    );
    assert_eq!(input.preview, block(&before, "preprocessing").preview);
    assert_eq!(
        input.fingerprint,
        block(&before, "preprocessing").fingerprint
    );
    assert_eq!(
        input.logs,
        [format!(
            "not run: the run is limited to block training; its output is the stored one of run {}",
            full.id
        )]
    );
    for name in ["make_dataset", "registry", "deployment"] {
        let b = block(&blocks, name);
        assert_eq!(
            (b.status, b.attempts, b.preview.as_ref()),
            (BlockStatus::Skipped, 0, None),
            "{name}"
        );
        assert_eq!(b.logs, ["not run: the run is limited to block training"]);
    }
    // No second dataset version or model version came of it.
    assert_eq!(
        outcome.summary["data_version"],
        full_outcome.summary["data_version"]
    );
    assert!(
        outcome.summary.get("model_version").is_none(),
        "{}",
        outcome.summary
    );
    assert_eq!(p.registry.read().versions("churn").await.unwrap().len(), 1);

    // The next single-block run of `registry` takes the newest `training` output: this run's.
    let (_, outcome, blocks) = run_limited(
        &p,
        "demo_mlops",
        vars.clone(),
        RunScope::Block("registry".into()),
    )
    .await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert!(
        block(&blocks, "training").logs[0].ends_with(&format!("stored one of run {}", run.id)),
        "{:?}",
        block(&blocks, "training").logs
    );
    assert_eq!(p.registry.read().versions("churn").await.unwrap().len(), 2);
}

/// `--from-block`: the block and everything downstream of it run, the blocks feeding them do
/// not, and a branch off to the side is left alone. A failed limited run re-runs limited.
#[tokio::test]
async fn a_from_block_run_runs_the_block_and_its_downstream_only() {
    let dir = tempfile::tempdir().unwrap();
    let (loads, sides, gate) = (
        dir.path().join("loads"),
        dir.path().join("sides"),
        dir.path().join("gate_open"),
    );
    let yaml = format!(
        "blocks:\n\
         - name: load\n  kind: command\n  config:\n    shell: \"echo x >> {loads}; printf 'a,b\\\\n1,2\\\\n3,4\\\\n' > $IRONMAGE_OUTPUT\"\n\
         - name: side\n  kind: command\n  upstream: [load]\n  config:\n    shell: \"echo x >> {sides}\"\n\
         - name: check\n  kind: command\n  upstream: [load]\n  config:\n    shell: \"test -f {gate} && cat $IRONMAGE_INPUT_LOAD > $IRONMAGE_OUTPUT\"\n\
         - {{name: done, kind: noop, upstream: [check]}}\n",
        loads = loads.display(),
        sides = sides.display(),
        gate = gate.display()
    );
    let e = env(&[("p", &yaml)]).await;
    let p = &e.platform;
    let lines = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let from_check = || RunScope::FromBlock("check".into());
    // `check` fails (the gate is closed), but `load` succeeded: its output is stored.
    let (first, _) = run_once(p, "p").await;
    assert_eq!(first.status, RunStatus::Failed);
    assert_eq!((lines(&loads), lines(&sides)), (1, 1));

    let (limited, outcome, blocks) = run_limited(p, "p", Map::new(), from_check()).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(block(&blocks, "check").status, BlockStatus::Failed);
    assert_eq!(block(&blocks, "done").status, BlockStatus::UpstreamFailed);

    // Re-run keeps the limit.
    std::fs::write(&gate, "").unwrap();
    let rerun = p.runs.rerun(&limited.id).await.unwrap();
    assert_eq!(rerun.scope, Some(from_check()));
    let outcome = p
        .runs
        .execute_run(&rerun.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    let blocks = p.runs.run_detail(&rerun.id).await.unwrap().blocks;
    assert_eq!(block(&blocks, "check").status, BlockStatus::Success);
    assert_eq!(
        block(&blocks, "check").preview.as_ref().unwrap()["rows"],
        json!(2),
        "check got the stored rows of load"
    );
    assert_eq!(block(&blocks, "done").status, BlockStatus::Success);
    let load = block(&blocks, "load");
    assert_eq!((load.status, load.attempts), (BlockStatus::Skipped, 0));
    assert!(
        load.logs[0].starts_with("not run: the run starts from block check; its output is"),
        "{:?}",
        load.logs
    );
    assert_eq!(
        block(&blocks, "side").logs,
        ["not run: the run starts from block check"]
    );
    assert_eq!(
        (lines(&loads), lines(&sides)),
        (1, 1),
        "load and side ran once in all"
    );

    // A limited run of a root block needs no stored output.
    let (_, outcome, blocks) =
        run_limited(p, "p", Map::new(), RunScope::Block("load".into())).await;
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert_eq!(block(&blocks, "check").status, BlockStatus::Skipped);
    assert_eq!((lines(&loads), lines(&sides)), (2, 1));
}

// ---------------------------------------------------------------------------------------------
// A model whose policy requires approvals reaches Production only through them.

#[tokio::test]
async fn a_policy_requiring_approvals_binds_the_deploy_block_and_direct_transitions() {
    use ironmage_core::store::{PolicySettings, Stage};
    let e = env(&[]).await;
    let p = &e.platform;
    ironmage_core::pipeline::Project::init(p.project().root()).unwrap();
    // Without a policy the demo deploys directly.
    let (outcome, _) = run_once(p, "demo_mlops").await;
    assert_eq!(
        outcome.summary["deployment"]["status"], "deployed",
        "{:?}",
        outcome.summary
    );
    p.registry
        .set_policy(
            "churn",
            &PolicySettings {
                required_approvals: 2,
                ..PolicySettings::default()
            },
            "admin",
        )
        .await
        .unwrap();

    let mut vars = Map::new();
    vars.insert("seed".into(), json!(7));
    let run = p.runs.create_run("demo_mlops", vars, "test").await.unwrap();
    let outcome = p
        .runs
        .execute_run(&run.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Success, "{:?}", outcome.error);
    assert_eq!(
        outcome.summary["deployment"]["status"], "pending_approval",
        "{:?}",
        outcome.summary
    );
    let v2 = p.registry.read().version("churn", 2).await.unwrap();
    assert_eq!(v2.stage, Stage::Staging);
    assert_eq!(
        p.registry.read().version("churn", 1).await.unwrap().stage,
        Stage::Production,
        "still serving version 1"
    );
    let requests = p
        .registry
        .read()
        .approval_requests("churn", None)
        .await
        .unwrap();
    assert_eq!(
        (
            requests.len(),
            requests[0].version,
            requests[0].required_approvals
        ),
        (1, 2, 2)
    );

    // A direct transition is refused, naming the way through.
    let refused = p
        .registry
        .transition("churn", 2, Stage::Production, "ops", "skip the queue")
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert!(
        refused.message.contains("needs 2 approval(s)"),
        "{}",
        refused.message
    );
    assert_eq!(
        p.registry.read().version("churn", 2).await.unwrap().stage,
        Stage::Staging
    );
    // Two approvals promote it; a rollback (restoring a version approved before) stays possible.
    let id = requests[0].id;
    assert!(p
        .registry
        .approve("churn", id, "alice", "ok")
        .await
        .unwrap()
        .promoted
        .is_none());
    assert!(p
        .registry
        .approve("churn", id, "bob", "ok")
        .await
        .unwrap()
        .promoted
        .is_some());
    assert_eq!(
        p.registry.read().version("churn", 2).await.unwrap().stage,
        Stage::Production
    );
    p.registry
        .rollback("churn", 1, "ops", "restore")
        .await
        .unwrap();
    assert_eq!(
        p.registry.read().version("churn", 1).await.unwrap().stage,
        Stage::Production
    );
}
