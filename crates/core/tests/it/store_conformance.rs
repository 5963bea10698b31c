//! The metadata store's conformance suite: every case runs against every backend, each on a
//! fresh database of its own (SQLite in a temp folder, PostgreSQL in a new schema).
//!
//! `conformance_suite!` turns each `async fn case(t: TestStore)` below into `sqlite_case` and
//! `postgres_case`. The PostgreSQL tests need `IRONMAGE_TEST_POSTGRES_URL` (see
//! `scripts/services.sh`); without it they skip, or fail when `CI` is set.

use crate::common::{transition, Backend, TestStore};
use ironmage_core::clock;
use ironmage_core::store::{
    ArtifactRefs, BlockStatus, BlockUpdate, DatasetRecord, NewRun, NewVersion, PredictionRecord,
    RunScope, RunStatus, Stage, Store,
};
use ironmage_core::{Error, ErrorCode};
use serde_json::json;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

/// Each `case => sqlite_case, postgres_case;` line makes two tests; the names are checked at
/// compile time, so a test cannot end up under the wrong backend's name.
macro_rules! conformance_suite {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        const _: () = assert!(is_named(stringify!($sqlite), "sqlite_", stringify!($case)));
        const _: () = assert!(is_named(stringify!($postgres), "postgres_", stringify!($case)));

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            run(Backend::Sqlite, $case).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            run(Backend::Postgres, $case).await
        }
    )*};
}

conformance_suite! {
    migrations_are_idempotent => sqlite_migrations_are_idempotent, postgres_migrations_are_idempotent;
    runs_are_created_queued_with_pending_blocks => sqlite_runs_are_created_queued_with_pending_blocks, postgres_runs_are_created_queued_with_pending_blocks;
    runs_are_claimed_once => sqlite_runs_are_claimed_once, postgres_runs_are_claimed_once;
    runs_are_claimed_once_under_concurrency => sqlite_runs_are_claimed_once_under_concurrency, postgres_runs_are_claimed_once_under_concurrency;
    heartbeat_is_for_the_holder_only => sqlite_heartbeat_is_for_the_holder_only, postgres_heartbeat_is_for_the_holder_only;
    runs_finish_once_by_their_holder => sqlite_runs_finish_once_by_their_holder, postgres_runs_finish_once_by_their_holder;
    stale_runs_are_requeued_and_reclaimed_clean => sqlite_stale_runs_are_requeued_and_reclaimed_clean, postgres_stale_runs_are_requeued_and_reclaimed_clean;
    run_lists_omit_logs_and_previews => sqlite_run_lists_omit_logs_and_previews, postgres_run_lists_omit_logs_and_previews;
    run_lists_stay_whole_while_runs_are_created => sqlite_run_lists_stay_whole_while_runs_are_created, postgres_run_lists_stay_whole_while_runs_are_created;
    queued_run_ids_are_oldest_first => sqlite_queued_run_ids_are_oldest_first, postgres_queued_run_ids_are_oldest_first;
    datasets_with_a_known_hash_reuse_the_version => sqlite_datasets_with_a_known_hash_reuse_the_version, postgres_datasets_with_a_known_hash_reuse_the_version;
    datasets_sharing_a_base_id_get_suffixes => sqlite_datasets_sharing_a_base_id_get_suffixes, postgres_datasets_sharing_a_base_id_get_suffixes;
    datasets_registered_concurrently_stay_unique => sqlite_datasets_registered_concurrently_stay_unique, postgres_datasets_registered_concurrently_stay_unique;
    versions_are_numbered_and_labels_suffixed => sqlite_versions_are_numbered_and_labels_suffixed, postgres_versions_are_numbered_and_labels_suffixed;
    promotion_archives_the_old_production_and_audits_both => sqlite_promotion_archives_the_old_production_and_audits_both, postgres_promotion_archives_the_old_production_and_audits_both;
    same_stage_transition_is_a_conflict => sqlite_same_stage_transition_is_a_conflict, postgres_same_stage_transition_is_a_conflict;
    unknown_models_and_versions_are_not_found => sqlite_unknown_models_and_versions_are_not_found, postgres_unknown_models_and_versions_are_not_found;
    concurrent_promotions_leave_one_production => sqlite_concurrent_promotions_leave_one_production, postgres_concurrent_promotions_leave_one_production;
    concurrent_registrations_number_versions_densely => sqlite_concurrent_registrations_number_versions_densely, postgres_concurrent_registrations_number_versions_densely;
    concurrent_registrations_keep_free_labels => sqlite_concurrent_registrations_keep_free_labels, postgres_concurrent_registrations_keep_free_labels;
    many_registrations_in_one_second_all_get_labels => sqlite_many_registrations_in_one_second_all_get_labels, postgres_many_registrations_in_one_second_all_get_labels;
    predictions_are_inserted_in_batches_and_summarised => sqlite_predictions_are_inserted_in_batches_and_summarised, postgres_predictions_are_inserted_in_batches_and_summarised;
    a_failed_prediction_batch_inserts_nothing => sqlite_a_failed_prediction_batch_inserts_nothing, postgres_a_failed_prediction_batch_inserts_nothing;
    leases_are_exclusive_until_released => sqlite_leases_are_exclusive_until_released, postgres_leases_are_exclusive_until_released;
    expired_leases_can_be_taken => sqlite_expired_leases_can_be_taken, postgres_expired_leases_can_be_taken;
    concurrent_lease_acquirers_have_one_winner => sqlite_concurrent_lease_acquirers_have_one_winner, postgres_concurrent_lease_acquirers_have_one_winner;
    cancel_ends_queued_runs_and_flags_running_ones => sqlite_cancel_ends_queued_runs_and_flags_running_ones, postgres_cancel_ends_queued_runs_and_flags_running_ones;
    stored_outputs_are_those_of_succeeded_blocks => sqlite_stored_outputs_are_those_of_succeeded_blocks, postgres_stored_outputs_are_those_of_succeeded_blocks;
    the_latest_output_of_a_block_is_its_newest_success_in_the_pipeline => sqlite_the_latest_output_of_a_block_is_its_newest_success_in_the_pipeline, postgres_the_latest_output_of_a_block_is_its_newest_success_in_the_pipeline;
}

/// `name == prefix + case`, usable in a constant.
const fn is_named(name: &str, prefix: &str, case: &str) -> bool {
    let (name, prefix, case) = (name.as_bytes(), prefix.as_bytes(), case.as_bytes());
    if name.len() != prefix.len() + case.len() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        let expected = if i < prefix.len() {
            prefix[i]
        } else {
            case[i - prefix.len()]
        };
        if name[i] != expected {
            return false;
        }
        i += 1;
    }
    true
}

async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(TestStore) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(store) = TestStore::new(backend).await {
        case(store).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn new_run(pipeline: &str, blocks: &[&str]) -> NewRun {
    let mut variables = serde_json::Map::new();
    variables.insert("rows".into(), json!(1000));
    variables.insert("name".into(), json!("churn é ✓"));
    NewRun {
        pipeline: pipeline.into(),
        trigger: "test".into(),
        variables,
        blocks: blocks
            .iter()
            .map(|b| (b.to_string(), format!("{b}_kind")))
            .collect(),
        rerun_of: None,
        scope: None,
    }
}

fn dataset(base: &str, hash: &str) -> DatasetRecord {
    DatasetRecord {
        version: base.into(),
        hash: hash.into(),
        row_count: 1000,
        feature_count: 3,
        feature_names: vec!["a".into(), "b".into(), "c".into()],
        label: "churned".into(),
        label_rate: 0.265625,
        artifact: format!("artifact-of-{hash}"),
        run_id: Some("run-1".into()),
        created_at: String::new(),
    }
}

fn new_version(model: &str, label: &str) -> NewVersion {
    let mut metrics = serde_json::Map::new();
    metrics.insert("auc".into(), json!(0.875));
    let mut hyperparameters = serde_json::Map::new();
    hyperparameters.insert("max_depth".into(), json!(6));
    NewVersion {
        model: model.into(),
        label: label.into(),
        run_id: Some("run-1".into()),
        dataset_version: Some("data_v_20260101_000000".into()),
        artifacts: ArtifactRefs {
            model: "sha256:model".into(),
            scaler: "sha256:scaler".into(),
            schema: "sha256:schema".into(),
        },
        metrics,
        hyperparameters,
        lineage: json!({"git": {"commit": "abc"}}),
    }
}

fn prediction(id: &str, model: &str, version: Option<i64>, created_at: &str) -> PredictionRecord {
    PredictionRecord {
        id: id.into(),
        model: model.into(),
        version,
        label: version.map(|v| format!("v_{v}")),
        source: if version.is_some() { "predict" } else { "log" }.into(),
        input: serde_json::value::RawValue::from_string(format!(r#"{{"id":"{id}","x":[1,2.5]}}"#))
            .unwrap(),
        output: serde_json::value::RawValue::from_string(r#"{"churn":true,"p":0.75}"#.into())
            .unwrap(),
        latency_us: 42,
        created_at: created_at.into(),
    }
}

fn block_update(status: BlockStatus, attempts: i64) -> BlockUpdate {
    BlockUpdate {
        status,
        attempts,
        started_at: Some(clock::now()),
        ended_at: Some(clock::now()),
        error: (status == BlockStatus::Failed).then(|| "boom".to_string()),
        logs: vec!["line one".into(), "line two".into()],
        preview: Some(json!({"rows": 3, "columns": ["a", "b"]})),
        fingerprint: Some(format!("sha256:{attempts}")),
        output_ref: (status == BlockStatus::Success).then(|| "sha256:out".to_string()),
    }
}

/// Timestamps have millisecond resolution: make sure the next one differs.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

fn code_of<T: std::fmt::Debug>(result: Result<T, Error>) -> ErrorCode {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e.code,
    }
}

// ---------------------------------------------------------------------------------------------
// Runs

async fn migrations_are_idempotent(t: TestStore) {
    let run = t
        .store
        .runs()
        .create_run(new_run("p", &["a"]))
        .await
        .unwrap();
    // A second process opening the same database migrates nothing and sees the same data.
    let again = Store::connect(&t.url).await.unwrap();
    again.ping().await.unwrap();
    assert_eq!(again.runs().run(&run.id).await.unwrap().id, run.id);
    again.close().await;
}

async fn runs_are_created_queued_with_pending_blocks(t: TestStore) {
    let s = &t.store;
    let run = s
        .runs()
        .create_run(new_run("demo", &["load", "train", "deploy"]))
        .await
        .unwrap();
    assert_eq!(run.id.len(), 32);
    assert_eq!(run.pipeline, "demo");
    assert_eq!(run.trigger, "test");
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.variables["rows"], json!(1000));
    assert_eq!(run.variables["name"], json!("churn é ✓"));
    assert_eq!(run.holder, None);
    assert_eq!(run.heartbeat_at, None);
    assert_eq!(run.started_at, None);
    assert_eq!(run.ended_at, None);
    assert_eq!(run.summary, json!({}));
    assert!(!run.created_at.is_empty());

    let detail = s.runs().run_detail(&run.id).await.unwrap();
    let blocks: Vec<_> = detail
        .blocks
        .iter()
        .map(|b| {
            (
                b.block.as_str(),
                b.position,
                b.kind.as_str(),
                b.status,
                b.attempts,
            )
        })
        .collect();
    assert_eq!(
        blocks,
        [
            ("load", 0, "load_kind", BlockStatus::Pending, 0),
            ("train", 1, "train_kind", BlockStatus::Pending, 0),
            ("deploy", 2, "deploy_kind", BlockStatus::Pending, 0),
        ]
    );
    assert!(detail
        .blocks
        .iter()
        .all(|b| b.logs.is_empty() && b.preview.is_none()));
    assert_eq!(
        code_of(s.runs().run("0123456789abcdef0123456789abcdef").await),
        ErrorCode::NotFound
    );
}

async fn runs_are_claimed_once(t: TestStore) {
    let s = &t.store;
    let run = s.runs().create_run(new_run("p", &["a"])).await.unwrap();
    let claimed = s
        .runs()
        .claim_run(&run.id, "exec-a")
        .await
        .unwrap()
        .expect("first claim");
    assert_eq!(claimed.id, run.id);
    assert_eq!(claimed.status, RunStatus::Running);
    assert_eq!(claimed.holder.as_deref(), Some("exec-a"));
    assert!(claimed.started_at.is_some());
    assert_eq!(claimed.heartbeat_at, claimed.started_at);

    assert!(s
        .runs()
        .claim_run(&run.id, "exec-b")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .runs()
        .claim_run(&run.id, "exec-a")
        .await
        .unwrap()
        .is_none());
    let now = s.runs().run(&run.id).await.unwrap();
    assert_eq!(now.holder.as_deref(), Some("exec-a"));
    assert_eq!(now.started_at, claimed.started_at);
    assert!(s
        .runs()
        .claim_run("no-such-run", "exec-a")
        .await
        .unwrap()
        .is_none());
}

async fn runs_are_claimed_once_under_concurrency(t: TestStore) {
    let run = t
        .store
        .runs()
        .create_run(new_run("p", &["a", "b"]))
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (s, id, barrier) = (t.store.clone(), run.id.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.runs().claim_run(&id, &format!("exec-{i}")).await.unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(run) = task.await.unwrap() {
            winners.push(run.holder.unwrap());
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = t.store.runs().run(&run.id).await.unwrap();
    assert_eq!(stored.holder.as_ref(), Some(&winners[0]));
}

async fn heartbeat_is_for_the_holder_only(t: TestStore) {
    let s = &t.store;
    let run = s.runs().create_run(new_run("p", &["a"])).await.unwrap();
    assert!(
        s.runs()
            .heartbeat(&run.id, "exec-a")
            .await
            .unwrap()
            .is_none(),
        "queued runs have no holder"
    );
    let claimed = s
        .runs()
        .claim_run(&run.id, "exec-a")
        .await
        .unwrap()
        .unwrap();
    tick().await;
    assert_eq!(
        s.runs().heartbeat(&run.id, "exec-a").await.unwrap(),
        Some(false)
    );
    let beat = s.runs().run(&run.id).await.unwrap().heartbeat_at.unwrap();
    assert!(
        beat > claimed.heartbeat_at.unwrap(),
        "the heartbeat moves forward"
    );
    assert!(s
        .runs()
        .heartbeat(&run.id, "exec-b")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.runs().run(&run.id).await.unwrap().heartbeat_at.unwrap(),
        beat
    );
    assert!(s
        .runs()
        .heartbeat("no-such-run", "exec-a")
        .await
        .unwrap()
        .is_none());
}

async fn runs_finish_once_by_their_holder(t: TestStore) {
    let s = &t.store;
    let run = s.runs().create_run(new_run("p", &["a"])).await.unwrap();
    let summary = json!({"model_version": 3, "metrics": {"auc": 0.9}});
    assert!(
        !s.runs()
            .finish_run(&run.id, "exec-a", RunStatus::Success, None, &summary)
            .await
            .unwrap(),
        "a queued run cannot be finished"
    );
    s.runs()
        .claim_run(&run.id, "exec-a")
        .await
        .unwrap()
        .unwrap();
    assert!(!s
        .runs()
        .finish_run(&run.id, "exec-b", RunStatus::Success, None, &summary)
        .await
        .unwrap());
    assert_eq!(
        s.runs().run(&run.id).await.unwrap().status,
        RunStatus::Running
    );

    assert!(s
        .runs()
        .finish_run(
            &run.id,
            "exec-a",
            RunStatus::Failed,
            Some("block train failed"),
            &summary
        )
        .await
        .unwrap());
    let done = s.runs().run(&run.id).await.unwrap();
    assert_eq!(done.status, RunStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("block train failed"));
    assert_eq!(done.summary, summary);
    assert!(done.ended_at.is_some());

    assert!(!s
        .runs()
        .finish_run(&run.id, "exec-a", RunStatus::Success, None, &json!({}))
        .await
        .unwrap());
    let still = s.runs().run(&run.id).await.unwrap();
    assert_eq!(still.status, RunStatus::Failed);
    assert_eq!(still.summary, summary);
    assert_eq!(still.ended_at, done.ended_at);
    assert!(s
        .runs()
        .heartbeat(&run.id, "exec-a")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .runs()
        .claim_run(&run.id, "exec-b")
        .await
        .unwrap()
        .is_none());
}

async fn stale_runs_are_requeued_and_reclaimed_clean(t: TestStore) {
    let s = &t.store;
    let stale = s
        .runs()
        .create_run(new_run("p", &["load", "train"]))
        .await
        .unwrap();
    let beating = s.runs().create_run(new_run("p", &["load"])).await.unwrap();
    let fresh = s.runs().create_run(new_run("p", &["load"])).await.unwrap();
    let queued = s.runs().create_run(new_run("p", &["load"])).await.unwrap();
    s.runs()
        .claim_run(&stale.id, "dead")
        .await
        .unwrap()
        .unwrap();
    s.runs()
        .claim_run(&beating.id, "alive")
        .await
        .unwrap()
        .unwrap();
    s.runs()
        .update_block(&stale.id, "load", &block_update(BlockStatus::Success, 2))
        .await
        .unwrap();
    s.runs()
        .update_block(&stale.id, "train", &block_update(BlockStatus::Failed, 1))
        .await
        .unwrap();
    let dirty = s.runs().run_detail(&stale.id).await.unwrap();
    assert_eq!(dirty.blocks[0].status, BlockStatus::Success);
    assert_eq!(dirty.blocks[0].logs, ["line one", "line two"]);

    tick().await;
    let cutoff = clock::now();
    tick().await;
    assert_eq!(
        s.runs().heartbeat(&beating.id, "alive").await.unwrap(),
        Some(false)
    );
    s.runs()
        .claim_run(&fresh.id, "alive")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        s.runs().requeue_stale(&cutoff).await.unwrap(),
        [stale.id.as_str()]
    );
    assert!(
        s.runs().requeue_stale(&cutoff).await.unwrap().is_empty(),
        "requeued once"
    );
    let requeued = s.runs().run(&stale.id).await.unwrap();
    assert_eq!(requeued.status, RunStatus::Queued);
    assert_eq!(requeued.holder, None);
    for other in [&beating, &fresh] {
        assert_eq!(
            s.runs().run(&other.id).await.unwrap().status,
            RunStatus::Running
        );
    }
    assert_eq!(
        s.runs().run(&queued.id).await.unwrap().status,
        RunStatus::Queued
    );
    // The dead executor, should it come back, has lost the run.
    assert!(s
        .runs()
        .heartbeat(&stale.id, "dead")
        .await
        .unwrap()
        .is_none());
    assert!(!s
        .runs()
        .finish_run(&stale.id, "dead", RunStatus::Success, None, &json!({}))
        .await
        .unwrap());
    let mut queued_ids = s.runs().queued_run_ids().await.unwrap();
    queued_ids.sort();
    let mut expected = vec![stale.id.clone(), queued.id.clone()];
    expected.sort();
    assert_eq!(queued_ids, expected);

    let reclaimed = s
        .runs()
        .claim_run(&stale.id, "rescuer")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.holder.as_deref(), Some("rescuer"));
    assert!(reclaimed.heartbeat_at.as_deref().unwrap() > cutoff.as_str());
    let clean = s.runs().run_detail(&stale.id).await.unwrap();
    assert_eq!(clean.blocks.len(), 2);
    for b in &clean.blocks {
        assert_eq!(b.status, BlockStatus::Pending, "{}", b.block);
        assert_eq!(b.attempts, 0);
        assert_eq!(b.started_at, None);
        assert_eq!(b.ended_at, None);
        assert_eq!(b.error, None);
        assert!(b.logs.is_empty());
        assert_eq!(b.preview, None);
    }

    // Everything running is stale against a cutoff in the future.
    let mut all = s
        .runs()
        .requeue_stale("9999-12-31T00:00:00.000Z")
        .await
        .unwrap();
    all.sort();
    let mut running = vec![stale.id.clone(), beating.id.clone(), fresh.id.clone()];
    running.sort();
    assert_eq!(all, running);
}

async fn run_lists_omit_logs_and_previews(t: TestStore) {
    let s = &t.store;
    let first = s
        .runs()
        .create_run(new_run("p", &["load", "train"]))
        .await
        .unwrap();
    tick().await;
    let second = s.runs().create_run(new_run("q", &["load"])).await.unwrap();
    tick().await;
    let third = s
        .runs()
        .create_run(new_run("p", &["load", "train"]))
        .await
        .unwrap();
    s.runs()
        .update_block(&third.id, "load", &block_update(BlockStatus::Success, 1))
        .await
        .unwrap();

    let ids = |runs: &[ironmage_core::store::RunDetail]| {
        runs.iter().map(|r| r.run.id.clone()).collect::<Vec<_>>()
    };
    let all = s.runs().list_runs(None, 10).await.unwrap();
    assert_eq!(
        ids(&all),
        [third.id.as_str(), &second.id, &first.id],
        "newest first"
    );
    assert_eq!(
        ids(&s.runs().list_runs(Some("p"), 10).await.unwrap()),
        [third.id.as_str(), &first.id]
    );
    assert_eq!(
        ids(&s.runs().list_runs(None, 2).await.unwrap()),
        [third.id.as_str(), &second.id]
    );
    assert!(s
        .runs()
        .list_runs(Some("nope"), 10)
        .await
        .unwrap()
        .is_empty());

    let listed = &all[0];
    let statuses: Vec<_> = listed
        .blocks
        .iter()
        .map(|b| (b.block.as_str(), b.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("load", BlockStatus::Success),
            ("train", BlockStatus::Pending)
        ],
        "lists keep the statuses"
    );
    assert_eq!(listed.blocks[0].attempts, 1);
    for b in all.iter().flat_map(|r| &r.blocks) {
        assert!(b.logs.is_empty(), "list carries logs of {}", b.block);
        assert_eq!(b.preview, None, "list carries the preview of {}", b.block);
    }

    let detail = s.runs().run_detail(&third.id).await.unwrap();
    assert_eq!(detail.blocks[0].logs, ["line one", "line two"]);
    assert_eq!(
        detail.blocks[0].preview,
        Some(json!({"rows": 3, "columns": ["a", "b"]}))
    );
    assert!(detail.blocks[1].logs.is_empty());
    assert_eq!(
        s.runs().block_runs(&third.id).await.unwrap()[0].logs.len(),
        2
    );
}

async fn run_lists_stay_whole_while_runs_are_created(t: TestStore) {
    // A list is one consistent picture: every listed run comes with its blocks, even while new
    // runs push older ones out of the window between the list's queries.
    let creator = {
        let s = t.store.clone();
        tokio::spawn(async move {
            for _ in 0..150 {
                s.runs()
                    .create_run(new_run("p", &["load", "train"]))
                    .await
                    .unwrap();
            }
        })
    };
    let mut lists = 0;
    while !creator.is_finished() {
        for detail in t.store.runs().list_runs(None, 3).await.unwrap() {
            assert_eq!(
                detail.blocks.len(),
                2,
                "run {} listed without its blocks",
                detail.run.id
            );
        }
        lists += 1;
    }
    creator.await.unwrap();
    assert!(lists > 1);
}

async fn queued_run_ids_are_oldest_first(t: TestStore) {
    let s = &t.store;
    assert!(s.runs().queued_run_ids().await.unwrap().is_empty());
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(s.runs().create_run(new_run("p", &["a"])).await.unwrap().id);
        tick().await;
    }
    assert_eq!(s.runs().queued_run_ids().await.unwrap(), ids);

    s.runs().claim_run(&ids[1], "exec").await.unwrap().unwrap();
    s.runs().claim_run(&ids[3], "exec").await.unwrap().unwrap();
    assert_eq!(
        s.runs().queued_run_ids().await.unwrap(),
        [ids[0].as_str(), &ids[2]]
    );

    // A requeued run keeps its place: the order is creation time, not requeue time.
    tick().await;
    s.runs().requeue_stale(&clock::now()).await.unwrap();
    assert_eq!(s.runs().queued_run_ids().await.unwrap(), ids);
}

// ---------------------------------------------------------------------------------------------
// Datasets

const BASE: &str = "data_v_20260212_160000";

async fn datasets_with_a_known_hash_reuse_the_version(t: TestStore) {
    let s = &t.store;
    let first = s
        .datasets()
        .register_dataset(dataset(BASE, "sha256:aaa"))
        .await
        .unwrap();
    assert_eq!(first.version, BASE);
    assert_eq!(first.hash, "sha256:aaa");
    assert_eq!(first.feature_names, ["a", "b", "c"]);
    assert_eq!(first.label_rate, 0.265625);
    assert_eq!(first.row_count, 1000);
    assert_eq!(first.run_id.as_deref(), Some("run-1"));
    assert!(!first.created_at.is_empty());

    tick().await;
    let again = s
        .datasets()
        .register_dataset(dataset("data_v_20260212_170000", "sha256:aaa"))
        .await
        .unwrap();
    assert_eq!(again, first, "the same content is the same version");
    assert_eq!(
        code_of(s.datasets().dataset("data_v_20260212_170000").await),
        ErrorCode::NotFound
    );
    assert_eq!(s.datasets().dataset(BASE).await.unwrap(), first);
    assert_eq!(
        s.datasets().dataset_by_hash("sha256:aaa").await.unwrap(),
        Some(first)
    );
    assert_eq!(
        s.datasets().dataset_by_hash("sha256:zzz").await.unwrap(),
        None
    );
}

async fn datasets_sharing_a_base_id_get_suffixes(t: TestStore) {
    let s = &t.store;
    let a = s
        .datasets()
        .register_dataset(dataset(BASE, "sha256:aaa"))
        .await
        .unwrap();
    let b = s
        .datasets()
        .register_dataset(dataset(BASE, "sha256:bbb"))
        .await
        .unwrap();
    let c = s
        .datasets()
        .register_dataset(dataset(BASE, "sha256:ccc"))
        .await
        .unwrap();
    assert_eq!(a.version, BASE);
    assert_eq!(b.version, format!("{BASE}_2"));
    assert_eq!(c.version, format!("{BASE}_3"));
    assert_eq!(
        s.datasets().dataset(&b.version).await.unwrap().hash,
        "sha256:bbb"
    );
    assert_eq!(
        s.datasets()
            .dataset_by_hash("sha256:ccc")
            .await
            .unwrap()
            .unwrap()
            .version,
        c.version
    );
}

async fn datasets_registered_concurrently_stay_unique(t: TestStore) {
    // Six different contents and, for each, three writers of the same content, all at once.
    let barrier = Arc::new(Barrier::new(18));
    let tasks: Vec<_> = (0..18)
        .map(|i| {
            let (s, barrier) = (t.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let hash = format!("sha256:{}", i % 6);
                let record = s
                    .datasets()
                    .register_dataset(dataset(BASE, &hash))
                    .await
                    .unwrap();
                (hash, record.version)
            })
        })
        .collect();
    let mut by_hash = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for task in tasks {
        let (hash, version) = task.await.unwrap();
        by_hash.entry(hash).or_default().insert(version);
    }
    assert_eq!(by_hash.len(), 6);
    assert!(
        by_hash.values().all(|versions| versions.len() == 1),
        "one version per content: {by_hash:?}"
    );
    let versions: BTreeSet<String> = by_hash.values().flatten().cloned().collect();
    let expected: BTreeSet<String> = (1..=6).map(|n| clock::nth_candidate(BASE, n)).collect();
    assert_eq!(versions, expected);
}

// ---------------------------------------------------------------------------------------------
// Registry

async fn versions_are_numbered_and_labels_suffixed(t: TestStore) {
    let s = &t.store;
    let v1 = s
        .registry()
        .create_version(new_version("churn", "v_1"))
        .await
        .unwrap();
    let v2 = s
        .registry()
        .create_version(new_version("churn", "v_1"))
        .await
        .unwrap();
    let v3 = s
        .registry()
        .create_version(new_version("churn", "v_3"))
        .await
        .unwrap();
    let numbered: Vec<_> = [&v1, &v2, &v3]
        .iter()
        .map(|v| (v.version, v.label.as_str(), v.stage))
        .collect();
    assert_eq!(
        numbered,
        [
            (1, "v_1", Stage::None),
            (2, "v_1_2", Stage::None),
            (3, "v_3", Stage::None)
        ]
    );
    assert_eq!(v1.model, "churn");
    assert_eq!(v1.artifacts.scaler, "sha256:scaler");
    assert_eq!(v1.metrics["auc"], json!(0.875));
    assert_eq!(v1.hyperparameters["max_depth"], json!(6));
    assert_eq!(v1.lineage, json!({"git": {"commit": "abc"}}));
    assert_eq!(
        v1.dataset_version.as_deref(),
        Some("data_v_20260101_000000")
    );

    let other = s
        .registry()
        .create_version(new_version("other", "v_1"))
        .await
        .unwrap();
    assert_eq!(
        (other.version, other.label.as_str()),
        (1, "v_1"),
        "numbers are per model"
    );

    let listed: Vec<i64> = s
        .registry()
        .versions("churn")
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(listed, [3, 2, 1]);
    let models = s.registry().list_models().await.unwrap();
    let names: Vec<_> = models
        .iter()
        .map(|m| (m.name.as_str(), m.versions.len()))
        .collect();
    assert_eq!(names, [("churn", 3), ("other", 1)]);

    let audit = s.registry().transitions("churn").await.unwrap();
    let audit: Vec<_> = audit
        .iter()
        .map(|a| {
            (
                a.version,
                a.from_stage.as_str(),
                a.to_stage.as_str(),
                a.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            (1, "None", "None", "registered"),
            (2, "None", "None", "registered"),
            (3, "None", "None", "registered"),
        ]
    );
}

async fn promotion_archives_the_old_production_and_audits_both(t: TestStore) {
    let s = &t.store;
    for _ in 0..3 {
        s.registry()
            .create_version(new_version("churn", "v"))
            .await
            .unwrap();
    }
    assert!(s
        .registry()
        .production_version("churn")
        .await
        .unwrap()
        .is_none());
    let staged = transition(s, "churn", 1, Stage::Staging, "alice", "eval")
        .await
        .unwrap();
    assert_eq!(staged.stage, Stage::Staging);
    transition(s, "churn", 1, Stage::Production, "alice", "first")
        .await
        .unwrap();
    assert_eq!(
        s.registry()
            .production_version("churn")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );

    let promoted = transition(
        s,
        "churn",
        2,
        Stage::Production,
        "pipeline:run-2",
        "better auc",
    )
    .await
    .unwrap();
    assert_eq!((promoted.version, promoted.stage), (2, Stage::Production));
    assert_eq!(
        s.registry().version("churn", 1).await.unwrap().stage,
        Stage::Archived
    );
    assert_eq!(
        s.registry().version("churn", 3).await.unwrap().stage,
        Stage::None
    );
    assert_eq!(
        s.registry()
            .production_version("churn")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    let audit = s.registry().transitions("churn").await.unwrap();
    let tail: Vec<_> = audit[audit.len() - 2..]
        .iter()
        .map(|a| {
            (
                a.version,
                a.from_stage.as_str(),
                a.to_stage.as_str(),
                a.actor.as_str(),
                a.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        tail,
        [
            (
                1,
                "Production",
                "Archived",
                "pipeline:run-2",
                "replaced by version 2"
            ),
            (2, "None", "Production", "pipeline:run-2", "better auc"),
        ]
    );
    assert_eq!(
        audit[audit.len() - 2].created_at,
        audit[audit.len() - 1].created_at,
        "both are written by the same transition"
    );

    // Rollback: an archived version comes back and the current one is archived.
    transition(s, "churn", 1, Stage::Production, "bob", "rollback")
        .await
        .unwrap();
    assert_eq!(
        s.registry().version("churn", 2).await.unwrap().stage,
        Stage::Archived
    );
    assert_eq!(
        s.registry()
            .production_version("churn")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    let stages: Vec<_> = s
        .registry()
        .versions("churn")
        .await
        .unwrap()
        .iter()
        .map(|v| v.stage)
        .collect();
    assert_eq!(stages, [Stage::None, Stage::Archived, Stage::Production]);
}

async fn same_stage_transition_is_a_conflict(t: TestStore) {
    let s = &t.store;
    s.registry()
        .create_version(new_version("churn", "v"))
        .await
        .unwrap();
    s.registry()
        .create_version(new_version("churn", "v"))
        .await
        .unwrap();
    assert_eq!(
        code_of(transition(s, "churn", 1, Stage::None, "alice", "noop").await),
        ErrorCode::Conflict
    );
    transition(s, "churn", 1, Stage::Production, "alice", "ship")
        .await
        .unwrap();
    transition(s, "churn", 2, Stage::Staging, "alice", "eval")
        .await
        .unwrap();
    let audited = s.registry().transitions("churn").await.unwrap().len();

    assert_eq!(
        code_of(transition(s, "churn", 1, Stage::Production, "alice", "again").await),
        ErrorCode::Conflict
    );
    assert_eq!(
        code_of(transition(s, "churn", 2, Stage::Staging, "alice", "again").await),
        ErrorCode::Conflict
    );
    // A refused transition changes nothing: the Production version stays, nothing is audited.
    assert_eq!(
        s.registry()
            .production_version("churn")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        s.registry().version("churn", 2).await.unwrap().stage,
        Stage::Staging
    );
    assert_eq!(
        s.registry().transitions("churn").await.unwrap().len(),
        audited
    );
}

async fn unknown_models_and_versions_are_not_found(t: TestStore) {
    let s = &t.store;
    assert_eq!(
        code_of(transition(s, "ghost", 1, Stage::Production, "a", "r").await),
        ErrorCode::NotFound
    );
    s.registry()
        .create_version(new_version("churn", "v"))
        .await
        .unwrap();
    assert_eq!(
        code_of(transition(s, "churn", 2, Stage::Production, "a", "r").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code_of(s.registry().version("churn", 2).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code_of(s.registry().version("ghost", 1).await),
        ErrorCode::NotFound
    );
    assert!(s
        .registry()
        .production_version("ghost")
        .await
        .unwrap()
        .is_none());
    assert!(s.registry().versions("ghost").await.unwrap().is_empty());
    assert!(s.registry().transitions("ghost").await.unwrap().is_empty());
    // The failed transitions left no trace.
    assert_eq!(s.registry().transitions("churn").await.unwrap().len(), 1);
    assert_eq!(
        s.registry().version("churn", 1).await.unwrap().stage,
        Stage::None
    );
}

async fn concurrent_promotions_leave_one_production(t: TestStore) {
    const N: i64 = 16;
    for _ in 0..N {
        t.store
            .registry()
            .create_version(new_version("churn", "v"))
            .await
            .unwrap();
    }
    let barrier = Arc::new(Barrier::new(N as usize));
    let tasks: Vec<_> = (1..=N)
        .map(|version| {
            let (s, barrier) = (t.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let result =
                    transition(&s, "churn", version, Stage::Production, "racer", "race").await;
                (version, result)
            })
        })
        .collect();
    let mut promoted = BTreeSet::new();
    for task in tasks {
        match task.await.unwrap() {
            (version, Ok(v)) => {
                assert_eq!((v.version, v.stage), (version, Stage::Production));
                promoted.insert(version);
            }
            (_, Err(e)) if e.code == ErrorCode::Conflict => {}
            (version, Err(e)) => panic!("promoting version {version} failed with {e:?}"),
        }
    }
    assert!(!promoted.is_empty(), "no promotion succeeded");

    let versions = t.store.registry().versions("churn").await.unwrap();
    let production: Vec<i64> = versions
        .iter()
        .filter(|v| v.stage == Stage::Production)
        .map(|v| v.version)
        .collect();
    assert_eq!(production.len(), 1, "production versions: {production:?}");
    assert!(promoted.contains(&production[0]));
    // Every successful promotion but the last archived its predecessor; the others stayed None.
    for v in &versions {
        let expected = if v.version == production[0] {
            Stage::Production
        } else if promoted.contains(&v.version) {
            Stage::Archived
        } else {
            Stage::None
        };
        assert_eq!(v.stage, expected, "version {}", v.version);
    }
    let audit = t.store.registry().transitions("churn").await.unwrap();
    let to_production = audit.iter().filter(|a| a.to_stage == "Production").count();
    let archived = audit
        .iter()
        .filter(|a| a.from_stage == "Production" && a.to_stage == "Archived")
        .count();
    assert_eq!(to_production, promoted.len());
    assert_eq!(archived, promoted.len() - 1);
    assert_eq!(
        t.store
            .registry()
            .production_version("churn")
            .await
            .unwrap()
            .unwrap()
            .version,
        production[0]
    );
}

async fn concurrent_registrations_number_versions_densely(t: TestStore) {
    const N: usize = 10;
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (s, barrier) = (t.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.registry()
                    .create_version(new_version("churn", "v_20260212_160000"))
                    .await
            })
        })
        .collect();
    let mut numbers = Vec::new();
    let mut labels = BTreeSet::new();
    for task in tasks {
        let v = task
            .await
            .unwrap()
            .expect("create_version under contention");
        numbers.push(v.version);
        labels.insert(v.label);
    }
    numbers.sort();
    assert_eq!(numbers, (1..=N as i64).collect::<Vec<_>>());
    assert_eq!(labels.len(), N, "labels: {labels:?}");
    assert!(labels.contains("v_20260212_160000"));
    let stored: BTreeSet<_> = t
        .store
        .registry()
        .versions("churn")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.label)
        .collect();
    assert_eq!(stored, labels);
    assert_eq!(
        t.store.registry().transitions("churn").await.unwrap().len(),
        N,
        "one audit each"
    );
}

async fn concurrent_registrations_keep_free_labels(t: TestStore) {
    // Distinct labels racing for the next number: losing the number is no reason to rename.
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier) = (t.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let label = format!("v_20260212_16000{i}");
                let v = s
                    .registry()
                    .create_version(new_version("churn", &label))
                    .await
                    .unwrap();
                (label, v.label, v.version)
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        let (asked, got, version) = task.await.unwrap();
        assert_eq!(
            got, asked,
            "version {version} was renamed although its label was free"
        );
        numbers.push(version);
    }
    numbers.sort();
    assert_eq!(numbers, (1..=N as i64).collect::<Vec<_>>());
}

async fn many_registrations_in_one_second_all_get_labels(t: TestStore) {
    // A burst of runs registers more versions within one second (one label stamp) than the
    // registration tries labels one at a time.
    const N: usize = 60;
    for i in 1..=N {
        let v = t
            .store
            .registry()
            .create_version(new_version("churn", "v_20260212_160000"))
            .await
            .unwrap_or_else(|e| panic!("registration {i} of {N}: {e}"));
        assert_eq!(v.version, i as i64);
        if i > 1 {
            assert_eq!(v.label, format!("v_20260212_160000_{i}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Predictions

fn at(ms: i64) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-02-12T16:00:00.000Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    clock::format_time(start + chrono::Duration::milliseconds(ms))
}

async fn predictions_are_inserted_in_batches_and_summarised(t: TestStore) {
    let s = &t.store;
    // 250 + 20 + 5 + 2 rows: several multi-row statements in one call.
    let mut batch: Vec<_> = (0..250)
        .map(|i| prediction(&format!("p{i:04}"), "churn", Some(1), &at(i * 10)))
        .collect();
    batch.extend((0..20).map(|i| prediction(&format!("q{i:04}"), "churn", Some(2), &at(i))));
    batch.extend((0..5).map(|i| prediction(&format!("r{i:04}"), "other", Some(1), &at(5000 + i))));
    // Two answers in the same millisecond: the newer-first history breaks the tie by id.
    batch.push(prediction("tie-b", "churn", Some(7), &at(100)));
    batch.push(prediction("tie-a", "churn", Some(7), &at(100)));
    s.predictions().insert_predictions(&batch).await.unwrap();

    let summary = s
        .predictions()
        .prediction_summary("churn", 1, 5)
        .await
        .unwrap();
    assert_eq!(summary.count, 250);
    assert_eq!(summary.last_prediction_time, Some(at(2490)));
    let history: Vec<_> = summary.history.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(history, ["p0249", "p0248", "p0247", "p0246", "p0245"]);
    let newest = &summary.history[0];
    assert_eq!(newest.model, "churn");
    assert_eq!(newest.version, Some(1));
    assert_eq!(newest.label.as_deref(), Some("v_1"));
    assert_eq!(newest.source, "predict");
    assert_eq!(newest.input.get(), r#"{"id":"p0249","x":[1,2.5]}"#);
    assert_eq!(newest.output.get(), r#"{"churn":true,"p":0.75}"#);
    assert_eq!(newest.latency_us, 42);
    assert_eq!(newest.created_at, at(2490));

    let v2 = s
        .predictions()
        .prediction_summary("churn", 2, 100)
        .await
        .unwrap();
    assert_eq!((v2.count, v2.history.len()), (20, 20));
    assert_eq!(v2.history.last().unwrap().id, "q0000");
    let ties: Vec<_> = s
        .predictions()
        .prediction_summary("churn", 7, 10)
        .await
        .unwrap()
        .history
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ties, ["tie-a", "tie-b"]);

    let none = s
        .predictions()
        .prediction_summary("churn", 3, 5)
        .await
        .unwrap();
    assert_eq!(
        (none.count, none.last_prediction_time, none.history.len()),
        (0, None, 0)
    );
    assert_eq!(
        s.predictions().prediction_count("churn").await.unwrap(),
        272
    );
    assert_eq!(s.predictions().prediction_count("other").await.unwrap(), 5);

    // Audit entries have no version.
    s.predictions()
        .insert_predictions(&[prediction("log-1", "churn", None, &at(9999))])
        .await
        .unwrap();
    assert_eq!(
        s.predictions().prediction_count("churn").await.unwrap(),
        273
    );
    assert_eq!(
        s.predictions()
            .prediction_summary("churn", 1, 1)
            .await
            .unwrap()
            .count,
        250
    );
    s.predictions().insert_predictions(&[]).await.unwrap();
}

async fn a_failed_prediction_batch_inserts_nothing(t: TestStore) {
    let s = &t.store;
    let mut batch: Vec<_> = (0..250)
        .map(|i| prediction(&format!("p{i:04}"), "churn", Some(1), &at(i)))
        .collect();
    // The last statement of the batch fails on a duplicate id: the first two must roll back.
    batch.push(prediction("p0000", "churn", Some(1), &at(999)));
    assert_eq!(
        code_of(s.predictions().insert_predictions(&batch).await),
        ErrorCode::AlreadyExists
    );
    assert_eq!(s.predictions().prediction_count("churn").await.unwrap(), 0);
    batch.pop();
    s.predictions().insert_predictions(&batch).await.unwrap();
    assert_eq!(
        s.predictions().prediction_count("churn").await.unwrap(),
        250
    );
}

// ---------------------------------------------------------------------------------------------
// Leases

const LONG: Duration = Duration::from_secs(30);

async fn leases_are_exclusive_until_released(t: TestStore) {
    let s = &t.store;
    assert!(s
        .leases()
        .acquire_lease("scheduler", "a", LONG)
        .await
        .unwrap());
    assert!(!s
        .leases()
        .acquire_lease("scheduler", "b", LONG)
        .await
        .unwrap());
    assert!(
        s.leases()
            .acquire_lease("scheduler", "a", LONG)
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(
        s.leases().acquire_lease("other", "b", LONG).await.unwrap(),
        "leases are per name"
    );

    s.leases().release_lease("scheduler", "b").await.unwrap();
    assert!(
        !s.leases()
            .acquire_lease("scheduler", "b", LONG)
            .await
            .unwrap(),
        "only the holder releases"
    );
    s.leases().release_lease("scheduler", "a").await.unwrap();
    assert!(s
        .leases()
        .acquire_lease("scheduler", "b", LONG)
        .await
        .unwrap());
    assert!(!s
        .leases()
        .acquire_lease("scheduler", "a", LONG)
        .await
        .unwrap());
    s.leases().release_lease("never-taken", "a").await.unwrap();
}

async fn expired_leases_can_be_taken(t: TestStore) {
    let s = &t.store;
    assert!(s
        .leases()
        .acquire_lease("scheduler", "a", Duration::from_millis(500))
        .await
        .unwrap());
    assert!(!s
        .leases()
        .acquire_lease("scheduler", "b", LONG)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        s.leases()
            .acquire_lease("scheduler", "b", LONG)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !s.leases()
            .acquire_lease("scheduler", "a", LONG)
            .await
            .unwrap(),
        "a lost it"
    );
}

async fn concurrent_lease_acquirers_have_one_winner(t: TestStore) {
    async fn race(store: &Store, name: &str) -> Vec<String> {
        let barrier = Arc::new(Barrier::new(8));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (s, barrier, name) = (store.clone(), barrier.clone(), name.to_string());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let holder = format!("holder-{i}");
                    s.leases()
                        .acquire_lease(&name, &holder, LONG)
                        .await
                        .unwrap()
                        .then_some(holder)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            winners.extend(task.await.unwrap());
        }
        winners
    }

    // A lease nobody held.
    let winners = race(&t.store, "fresh").await;
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert!(t
        .store
        .leases()
        .acquire_lease("fresh", &winners[0], LONG)
        .await
        .unwrap());
    assert!(!t
        .store
        .leases()
        .acquire_lease("fresh", "late", LONG)
        .await
        .unwrap());

    // A lease whose holder let it expire.
    assert!(t
        .store
        .leases()
        .acquire_lease("expired", "old", Duration::from_millis(50))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(150)).await;
    let winners = race(&t.store, "expired").await;
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert!(!t
        .store
        .leases()
        .acquire_lease("expired", "old", LONG)
        .await
        .unwrap());
}

// ---------------------------------------------------------------------------------------------
// Cancelling and re-running

async fn cancel_ends_queued_runs_and_flags_running_ones(t: TestStore) {
    let s = &t.store;
    let queued = s
        .runs()
        .create_run(new_run("p", &["a", "b"]))
        .await
        .unwrap();
    let running = s.runs().create_run(new_run("p", &["a"])).await.unwrap();
    s.runs()
        .claim_run(&running.id, "exec")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.runs().active_runs("p").await.unwrap(), 2);

    let cancelled = s.runs().request_cancel(&queued.id).await.unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert!(cancelled.ended_at.is_some());
    let blocks = s.runs().block_runs(&queued.id).await.unwrap();
    assert!(blocks.iter().all(|b| b.status == BlockStatus::Cancelled));
    assert!(
        s.runs()
            .claim_run(&queued.id, "exec")
            .await
            .unwrap()
            .is_none(),
        "a cancelled run is never claimed"
    );

    assert_eq!(
        s.runs().heartbeat(&running.id, "exec").await.unwrap(),
        Some(false)
    );
    let flagged = s.runs().request_cancel(&running.id).await.unwrap();
    assert_eq!(flagged.status, RunStatus::Running, "the executor ends it");
    assert!(flagged.cancel_requested);
    assert_eq!(
        s.runs().heartbeat(&running.id, "exec").await.unwrap(),
        Some(true)
    );
    assert_eq!(s.runs().active_runs("p").await.unwrap(), 1);

    assert!(s
        .runs()
        .finish_run(
            &running.id,
            "exec",
            RunStatus::Cancelled,
            Some("cancelled"),
            &json!({})
        )
        .await
        .unwrap());
    assert_eq!(
        code_of(s.runs().request_cancel(&running.id).await),
        ErrorCode::Conflict
    );
    assert_eq!(
        code_of(s.runs().request_cancel("no-such-run").await),
        ErrorCode::NotFound
    );
    assert_eq!(s.runs().active_runs("p").await.unwrap(), 0);
}

async fn stored_outputs_are_those_of_succeeded_blocks(t: TestStore) {
    let s = &t.store;
    let mut new = new_run("p", &["load", "train", "deploy"]);
    let original = s.runs().create_run(new.clone()).await.unwrap();
    s.runs()
        .update_block(&original.id, "load", &block_update(BlockStatus::Success, 1))
        .await
        .unwrap();
    s.runs()
        .update_block(&original.id, "train", &block_update(BlockStatus::Failed, 3))
        .await
        .unwrap();
    let stored = s.runs().stored_outputs(&original.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored["load"].fingerprint, "sha256:1");
    assert_eq!(stored["load"].output_ref, "sha256:out");

    new.rerun_of = Some(original.id.clone());
    let rerun = s.runs().create_run(new).await.unwrap();
    assert_eq!(rerun.rerun_of.as_deref(), Some(original.id.as_str()));
    let block = &s.runs().block_runs(&original.id).await.unwrap()[0];
    assert_eq!(block.output_ref.as_deref(), Some("sha256:out"));
}

async fn the_latest_output_of_a_block_is_its_newest_success_in_the_pipeline(t: TestStore) {
    let s = &t.store;
    let runs = s.runs();
    assert!(runs.latest_output("p", "load").await.unwrap().is_none());
    let mut new = new_run("p", &["load", "train"]);
    new.scope = Some(RunScope::FromBlock("train".into()));
    let older = runs.create_run(new.clone()).await.unwrap();
    assert_eq!(older.scope, Some(RunScope::FromBlock("train".into())));
    runs.update_block(&older.id, "load", &block_update(BlockStatus::Success, 1))
        .await
        .unwrap();
    tick().await;
    new.scope = Some(RunScope::Block("train".into()));
    let newer = runs.create_run(new.clone()).await.unwrap();
    let mut update = block_update(BlockStatus::Success, 2);
    update.output_ref = Some("sha256:newer".into());
    runs.update_block(&newer.id, "load", &update).await.unwrap();
    tick().await;
    // Newer still, but failed, skipped, or in another pipeline: not an output to take.
    let failed = runs.create_run(new.clone()).await.unwrap();
    runs.update_block(&failed.id, "load", &block_update(BlockStatus::Failed, 3))
        .await
        .unwrap();
    let skipped = runs.create_run(new).await.unwrap();
    let mut update = block_update(BlockStatus::Skipped, 0);
    update.output_ref = Some("sha256:loaded".into());
    runs.update_block(&skipped.id, "load", &update)
        .await
        .unwrap();
    let other = runs.create_run(new_run("q", &["load"])).await.unwrap();
    runs.update_block(&other.id, "load", &block_update(BlockStatus::Success, 4))
        .await
        .unwrap();

    let latest = runs.latest_output("p", "load").await.unwrap().unwrap();
    assert_eq!(
        (
            latest.run_id.as_str(),
            latest.fingerprint.as_str(),
            latest.output_ref.as_str()
        ),
        (newer.id.as_str(), "sha256:2", "sha256:newer")
    );
    assert!(runs.latest_output("p", "train").await.unwrap().is_none());
    let listed = runs.list_runs(Some("p"), 10).await.unwrap();
    let scope_of = |id: &str| {
        listed
            .iter()
            .find(|r| r.run.id == id)
            .unwrap()
            .run
            .scope
            .clone()
    };
    assert_eq!(scope_of(&newer.id), Some(RunScope::Block("train".into())));
    assert_eq!(
        scope_of(&older.id),
        Some(RunScope::FromBlock("train".into()))
    );
    assert_eq!(runs.run(&other.id).await.unwrap().scope, None);
}
