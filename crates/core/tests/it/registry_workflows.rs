//! Registry workflows on both backends (SQLite, PostgreSQL): validation gates, approvals,
//! keep-latest-N, deletion and the audit log. Same scheme as `store_conformance.rs`: each
//! case runs on a fresh database per backend; PostgreSQL needs `IRONMAGE_TEST_POSTGRES_URL`.

use crate::common::{transition, Backend, TestStore};
use ironmage_core::store::{
    ArtifactRefs, Gate, NewVersion, PolicySettings, Stage, Store, Transition,
};
use ironmage_core::{Error, ErrorCode};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

macro_rules! both_backends {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
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

both_backends! {
    gates_stage_passing_versions_and_record_failures => sqlite_gates_stage_passing_versions_and_record_failures, postgres_gates_stage_passing_versions_and_record_failures;
    approvals_from_distinct_users_promote_at_n => sqlite_approvals_from_distinct_users_promote_at_n, postgres_approvals_from_distinct_users_promote_at_n;
    rejection_closes_the_request => sqlite_rejection_closes_the_request, postgres_rejection_closes_the_request;
    no_approval_once_the_version_left_staging => sqlite_no_approval_once_the_version_left_staging, postgres_no_approval_once_the_version_left_staging;
    requests_need_staging_and_one_pending_per_version => sqlite_requests_need_staging_and_one_pending_per_version, postgres_requests_need_staging_and_one_pending_per_version;
    concurrent_approvals_leave_one_production => sqlite_concurrent_approvals_leave_one_production, postgres_concurrent_approvals_leave_one_production;
    approvals_racing_direct_promotions_leave_one_production => sqlite_approvals_racing_direct_promotions_leave_one_production, postgres_approvals_racing_direct_promotions_leave_one_production;
    keep_latest_archives_older_non_production_versions => sqlite_keep_latest_archives_older_non_production_versions, postgres_keep_latest_archives_older_non_production_versions;
    deletion_spares_production_and_keeps_numbers => sqlite_deletion_spares_production_and_keeps_numbers, postgres_deletion_spares_production_and_keeps_numbers;
    policies_are_validated_and_stored => sqlite_policies_are_validated_and_stored, postgres_policies_are_validated_and_stored;
    every_source_follows_its_one_approval_rule => sqlite_every_source_follows_its_one_approval_rule, postgres_every_source_follows_its_one_approval_rule;
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

fn version_with(model: &str, metrics: Value) -> NewVersion {
    NewVersion {
        model: model.into(),
        label: "v".into(),
        run_id: Some("run-1".into()),
        dataset_version: None,
        artifacts: ArtifactRefs {
            model: "sha256:m".into(),
            scaler: "sha256:s".into(),
            schema: "sha256:f".into(),
        },
        metrics: metrics.as_object().unwrap().clone(),
        hyperparameters: json!({"max_depth": 6}).as_object().unwrap().clone(),
        lineage: json!({}),
    }
}

fn policy(gates: &[&str], approvals: i64, keep: Option<i64>) -> PolicySettings {
    PolicySettings {
        gates: gates.iter().map(|g| Gate::parse(g).unwrap()).collect(),
        required_approvals: approvals,
        keep_latest_n: keep,
    }
}

fn code_of<T: std::fmt::Debug>(result: Result<T, Error>) -> ErrorCode {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e.code,
    }
}

/// `count` versions of `model` with an AUC of 0.9, each in Staging (gate `auc_score>=0.5`).
async fn staged(store: &Store, model: &str, count: usize, approvals: i64) {
    store
        .registry()
        .set_policy(
            model,
            &policy(&["auc_score>=0.5"], approvals, None),
            "admin",
        )
        .await
        .unwrap();
    for _ in 0..count {
        let v = store
            .registry()
            .create_version(version_with(model, json!({"auc_score": 0.9})))
            .await
            .unwrap();
        assert_eq!(v.stage, Stage::Staging);
    }
}

/// Every audit line names who, from, to and why; promotions by approval list approvers.
fn assert_audit_complete(audit: &[Transition]) {
    for t in audit {
        assert!(!t.actor.is_empty() && !t.reason.is_empty(), "{t:?}");
        assert!(!t.from_stage.is_empty() && !t.to_stage.is_empty(), "{t:?}");
        assert!(!t.created_at.is_empty(), "{t:?}");
        if t.request_id.is_some() {
            assert!(
                !t.approvers.is_empty(),
                "approved move without approvers: {t:?}"
            );
        }
    }
}

async fn gates_stage_passing_versions_and_record_failures(t: TestStore) {
    let s = &t.store;
    // Without a policy nothing moves.
    let plain = s
        .registry()
        .create_version(version_with("m", json!({"auc_score": 0.99})))
        .await
        .unwrap();
    assert_eq!(
        (plain.stage, plain.gate_status.clone()),
        (Stage::None, None)
    );

    s.registry()
        .set_policy(
            "m",
            &policy(&["auc_score>=0.85", "rmspe<0.10"], 1, None),
            "admin",
        )
        .await
        .unwrap();
    let pass = s
        .registry()
        .create_version(version_with("m", json!({"auc_score": 0.9, "rmspe": 0.05})))
        .await
        .unwrap();
    assert_eq!(pass.stage, Stage::Staging);
    assert_eq!(pass.gate_status.as_deref(), Some("passed"));

    let fail = s
        .registry()
        .create_version(version_with("m", json!({"auc_score": 0.8, "rmspe": 0.05})))
        .await
        .unwrap();
    assert_eq!(fail.stage, Stage::None);
    assert_eq!(fail.gate_status.as_deref(), Some("failed"));
    assert_eq!(
        fail.gate_reason.as_deref(),
        Some("auc_score 0.8 is not >= 0.85")
    );

    let missing = s
        .registry()
        .create_version(version_with("m", json!({"auc_score": 0.9})))
        .await
        .unwrap();
    assert_eq!(missing.stage, Stage::None);
    assert!(missing
        .gate_reason
        .unwrap()
        .contains("metric rmspe is missing"));

    let audit = s.registry().transitions("m").await.unwrap();
    let gated: Vec<&Transition> = audit.iter().filter(|a| a.actor == "gate").collect();
    assert_eq!(gated.len(), 1);
    assert_eq!(
        (
            gated[0].version,
            gated[0].from_stage.as_str(),
            gated[0].to_stage.as_str()
        ),
        (pass.version, "None", "Staging")
    );
    assert!(gated[0]
        .reason
        .starts_with("validation gates passed: auc_score 0.9 >= 0.85"));
    assert_audit_complete(&audit);
}

async fn approvals_from_distinct_users_promote_at_n(t: TestStore) {
    let s = &t.store;
    staged(s, "m", 2, 2).await;
    transition(s, "m", 1, Stage::Production, "admin", "first")
        .await
        .unwrap();
    let request = s
        .registry()
        .request_promotion("m", 2, "better AUC", "alice")
        .await
        .unwrap();
    assert_eq!(
        (request.status.as_str(), request.required_approvals),
        ("pending", 2)
    );

    let first = s
        .registry()
        .approve("m", request.id, "bob", "looks good")
        .await
        .unwrap();
    assert!(first.promoted.is_none());
    assert_eq!(
        s.registry().version("m", 2).await.unwrap().stage,
        Stage::Staging
    );
    assert_eq!(
        code_of(s.registry().approve("m", request.id, "bob", "again").await),
        ErrorCode::Conflict
    );

    let second = s
        .registry()
        .approve("m", request.id, "carol", "")
        .await
        .unwrap();
    assert_eq!(second.promoted.unwrap().stage, Stage::Production);
    assert_eq!(second.request.status, "approved");
    let approvers: Vec<&str> = second
        .request
        .approvals
        .iter()
        .map(|a| a.approver.as_str())
        .collect();
    assert_eq!(approvers.len(), 2);
    assert_eq!(
        s.registry().version("m", 1).await.unwrap().stage,
        Stage::Archived
    );
    assert_eq!(
        code_of(s.registry().approve("m", request.id, "dave", "").await),
        ErrorCode::Conflict
    );

    let audit = s.registry().transitions("m").await.unwrap();
    let promoted = audit
        .iter()
        .find(|a| a.version == 2 && a.to_stage == "Production")
        .unwrap();
    assert_eq!(promoted.request_id, Some(request.id));
    let mut listed = promoted.approvers.clone();
    listed.sort();
    assert_eq!(listed, ["bob", "carol"]);
    assert_eq!(promoted.actor, "carol");
    let archived = audit
        .iter()
        .find(|a| a.version == 1 && a.to_stage == "Archived")
        .unwrap();
    assert_eq!(archived.reason, "replaced by version 2");
    assert_audit_complete(&audit);
    assert_eq!(
        s.registry()
            .approval_requests("m", Some("approved"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s
        .registry()
        .approval_requests("m", Some("pending"))
        .await
        .unwrap()
        .is_empty());
}

async fn rejection_closes_the_request(t: TestStore) {
    let s = &t.store;
    staged(s, "m", 1, 1).await;
    let request = s
        .registry()
        .request_promotion("m", 1, "ship it", "alice")
        .await
        .unwrap();
    let rejected = s
        .registry()
        .reject("m", request.id, "bob", "drift on segment B")
        .await
        .unwrap();
    assert_eq!(rejected.status, "rejected");
    assert_eq!(
        rejected.decision_reason.as_deref(),
        Some("drift on segment B")
    );
    assert_eq!(rejected.decided_by.as_deref(), Some("bob"));
    assert_eq!(
        code_of(s.registry().approve("m", request.id, "carol", "").await),
        ErrorCode::Conflict
    );
    assert_eq!(
        code_of(s.registry().reject("m", request.id, "carol", "again").await),
        ErrorCode::Conflict
    );
    assert_eq!(
        s.registry().version("m", 1).await.unwrap().stage,
        Stage::Staging
    );
    // A closed request frees the version for a new one.
    s.registry()
        .request_promotion("m", 1, "retry", "alice")
        .await
        .unwrap();
    assert_eq!(
        s.registry()
            .approval_requests("m", None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        code_of(s.registry().approval_requests("m", Some("open")).await),
        ErrorCode::InvalidInput
    );
}

async fn no_approval_once_the_version_left_staging(t: TestStore) {
    let s = &t.store;
    staged(s, "m", 1, 2).await;
    let request = s
        .registry()
        .request_promotion("m", 1, "ship it", "alice")
        .await
        .unwrap();
    s.registry()
        .approve("m", request.id, "bob", "")
        .await
        .unwrap();
    transition(s, "m", 1, Stage::Archived, "admin", "withdrawn")
        .await
        .unwrap();
    let err = s
        .registry()
        .approve("m", request.id, "carol", "")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(
        err.message.contains("left Staging (now Archived)"),
        "{}",
        err.message
    );
    assert_eq!(
        s.registry().version("m", 1).await.unwrap().stage,
        Stage::Archived
    );
    assert_eq!(
        s.registry()
            .approval_request("m", request.id)
            .await
            .unwrap()
            .approvals
            .len(),
        1
    );
}

async fn requests_need_staging_and_one_pending_per_version(t: TestStore) {
    let s = &t.store;
    s.registry()
        .set_policy("m", &policy(&[], 1, None), "admin")
        .await
        .unwrap();
    s.registry()
        .create_version(version_with("m", json!({})))
        .await
        .unwrap();
    let err = s
        .registry()
        .request_promotion("m", 1, "x", "alice")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(
        err.message.contains("only a Staging version"),
        "{}",
        err.message
    );
    assert_eq!(
        code_of(s.registry().request_promotion("m", 9, "x", "alice").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code_of(
            s.registry()
                .request_promotion("nope", 1, "x", "alice")
                .await
        ),
        ErrorCode::NotFound
    );
    transition(s, "m", 1, Stage::Staging, "admin", "eval")
        .await
        .unwrap();
    s.registry()
        .request_promotion("m", 1, "x", "alice")
        .await
        .unwrap();
    let err = s
        .registry()
        .request_promotion("m", 1, "again", "bob")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(
        err.message.contains("already has a pending request"),
        "{}",
        err.message
    );
    assert_eq!(
        code_of(s.registry().approve("m", 999, "bob", "").await),
        ErrorCode::NotFound
    );
    s.registry()
        .set_policy("m", &policy(&[], 0, None), "admin")
        .await
        .unwrap();
    transition(s, "m", 1, Stage::None, "admin", "back")
        .await
        .unwrap();
    transition(s, "m", 1, Stage::Staging, "admin", "again")
        .await
        .unwrap();
    assert_eq!(
        code_of(
            s.registry()
                .request_promotion("m", 1, "no approvals needed", "a")
                .await
        ),
        ErrorCode::Conflict
    );
}

async fn concurrent_approvals_leave_one_production(t: TestStore) {
    const N: i64 = 8;
    let s = &t.store;
    staged(s, "m", N as usize, 1).await;
    let mut ids = Vec::new();
    for v in 1..=N {
        ids.push(
            s.registry()
                .request_promotion("m", v, "race", "alice")
                .await
                .unwrap()
                .id,
        );
    }
    let barrier = Arc::new(Barrier::new(N as usize));
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.registry().approve("m", id, "bob", "").await
            })
        })
        .collect();
    let mut promoted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(o) => promoted += usize::from(o.promoted.is_some()),
            Err(e) => assert_eq!(e.code, ErrorCode::Conflict, "{e:?}"),
        }
    }
    assert!(promoted >= 1);
    let versions = s.registry().versions("m").await.unwrap();
    let production = versions
        .iter()
        .filter(|v| v.stage == Stage::Production)
        .count();
    let archived = versions
        .iter()
        .filter(|v| v.stage == Stage::Archived)
        .count();
    assert_eq!(production, 1);
    assert_eq!(archived, promoted - 1);
    assert_audit_complete(&s.registry().transitions("m").await.unwrap());
}

/// Approvals, direct promotions and deletions race on one model: at every end there is one
/// Production version, and each promotion's audit line is there.
async fn approvals_racing_direct_promotions_leave_one_production(t: TestStore) {
    const N: i64 = 6;
    let s = &t.store;
    staged(s, "m", 2 * N as usize, 1).await;
    let mut ids = Vec::new();
    for v in 1..=N {
        ids.push(
            s.registry()
                .request_promotion("m", v, "race", "alice")
                .await
                .unwrap()
                .id,
        );
    }
    let barrier = Arc::new(Barrier::new(2 * N as usize));
    let mut tasks = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let (store, gate) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            store
                .registry()
                .approve("m", id, "bob", "")
                .await
                .map(|o| o.promoted.is_some())
        }));
        let (store, gate) = (s.clone(), barrier.clone());
        let direct = N + 1 + i as i64;
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            transition(&store, "m", direct, Stage::Production, "ops", "direct")
                .await
                .map(|_| true)
        }));
    }
    let mut promoted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(moved) => promoted += usize::from(moved),
            Err(e) => assert_eq!(e.code, ErrorCode::Conflict, "{e:?}"),
        }
    }
    let versions = s.registry().versions("m").await.unwrap();
    assert_eq!(
        versions
            .iter()
            .filter(|v| v.stage == Stage::Production)
            .count(),
        1
    );
    let audit = s.registry().transitions("m").await.unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.to_stage == "Production").count(),
        promoted
    );
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.from_stage == "Production")
            .count(),
        promoted - 1
    );
    assert_audit_complete(&audit);
}

async fn keep_latest_archives_older_non_production_versions(t: TestStore) {
    let s = &t.store;
    for _ in 0..3 {
        s.registry()
            .create_version(version_with("m", json!({})))
            .await
            .unwrap();
    }
    transition(s, "m", 1, Stage::Production, "admin", "first")
        .await
        .unwrap();
    s.registry()
        .set_policy("m", &policy(&[], 1, Some(2)), "admin")
        .await
        .unwrap();
    // The fourth registration applies the policy: v2 is beyond the newest two; v1 is Production.
    s.registry()
        .create_version(version_with("m", json!({})))
        .await
        .unwrap();
    let stages: Vec<(i64, Stage)> = s
        .registry()
        .versions("m")
        .await
        .unwrap()
        .iter()
        .map(|v| (v.version, v.stage))
        .collect();
    assert_eq!(
        stages,
        [
            (4, Stage::None),
            (3, Stage::None),
            (2, Stage::Archived),
            (1, Stage::Production)
        ]
    );
    assert_eq!(s.registry().keep_latest("m", 1, "ops").await.unwrap(), [3]);
    assert!(s
        .registry()
        .keep_latest("m", 1, "ops")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code_of(s.registry().keep_latest("m", 0, "ops").await),
        ErrorCode::InvalidInput
    );
    let audit = s.registry().transitions("m").await.unwrap();
    let by_policy: Vec<i64> = audit
        .iter()
        .filter(|a| a.actor == "policy")
        .map(|a| a.version)
        .collect();
    assert_eq!(by_policy, [2]);
    assert!(audit
        .iter()
        .any(|a| a.actor == "ops" && a.version == 3 && a.reason.starts_with("keep-latest-1")));
}

async fn deletion_spares_production_and_keeps_numbers(t: TestStore) {
    let s = &t.store;
    staged(s, "m", 2, 1).await;
    transition(s, "m", 1, Stage::Production, "admin", "first")
        .await
        .unwrap();
    let request = s
        .registry()
        .request_promotion("m", 2, "x", "alice")
        .await
        .unwrap();
    let err = s
        .registry()
        .delete_version("m", 1, "ops", "cleanup")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("is in Production"), "{}", err.message);
    s.registry()
        .delete_version("m", 2, "ops", "bad data")
        .await
        .unwrap();
    assert_eq!(
        code_of(s.registry().version("m", 2).await),
        ErrorCode::NotFound
    );
    assert_eq!(s.registry().versions("m").await.unwrap().len(), 1);
    assert_eq!(
        code_of(s.registry().delete_version("m", 2, "ops", "twice").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code_of(transition(s, "m", 2, Stage::Staging, "ops", "x").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        s.registry()
            .approval_request("m", request.id)
            .await
            .unwrap()
            .status,
        "rejected"
    );
    let v3 = s
        .registry()
        .create_version(version_with("m", json!({"auc_score": 0.9})))
        .await
        .unwrap();
    assert_eq!(v3.version, 3, "a deleted version's number is not reused");
    let audit = s.registry().transitions("m").await.unwrap();
    let deleted = audit.iter().find(|a| a.to_stage == "Deleted").unwrap();
    assert_eq!(
        (
            deleted.version,
            deleted.from_stage.as_str(),
            deleted.actor.as_str(),
            deleted.reason.as_str()
        ),
        (2, "Staging", "ops", "bad data")
    );
}

async fn policies_are_validated_and_stored(t: TestStore) {
    let s = &t.store;
    assert_eq!(code_of(s.registry().policy("m").await), ErrorCode::NotFound);
    // A policy may come before the first version.
    let p = s
        .registry()
        .set_policy("m", &policy(&["auc_score >= 0.85"], 2, Some(5)), "admin")
        .await
        .unwrap();
    assert_eq!(
        (
            p.settings.required_approvals,
            p.settings.keep_latest_n,
            p.updated_by.as_str()
        ),
        (2, Some(5), "admin")
    );
    assert_eq!(s.registry().policy("m").await.unwrap().settings, p.settings);
    for bad in [
        policy(&[], -1, None),
        policy(&[], 11, None),
        policy(&[], 1, Some(0)),
    ] {
        let err = s
            .registry()
            .set_policy("m", &bad, "admin")
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.field.is_some());
    }
    for bad in ["auc_score", "auc_score>=x", ">=0.5", "a b>=1", "auc>=inf"] {
        assert!(Gate::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Gate::parse("rmspe<0.10").unwrap().op.as_str(), "<");
    assert_eq!(Gate::parse("x<=1").unwrap().op.as_str(), "<=");
    assert_eq!(Gate::parse("x>1").unwrap().op.as_str(), ">");
}

/// The one stage-change path, once per source: without a policy every source moves the
/// version to Production; with one that requires an approval, a direct transition is refused,
/// a promotion opens a request, a pipeline stages the version and opens a request, and a
/// rollback moves it anyway.
async fn every_source_follows_its_one_approval_rule(t: TestStore) {
    use ironmage_core::events::EventBus;
    use ironmage_core::registry::{Registry, StageSource};
    use ironmage_core::store::{Promotion, StageChange};
    let registry = Registry::new(&t.store, EventBus::local());
    let sources = [
        StageSource::Transition,
        StageSource::Promote,
        StageSource::Pipeline,
        StageSource::Rollback,
    ];
    let to_production = |model: &'static str, version| StageChange {
        model,
        version,
        to: Stage::Production,
        actor: "alice",
        reason: "ship it",
    };
    // No policy: every source moves the version.
    for (i, source) in sources.iter().enumerate() {
        let v = registry
            .register_version(version_with("free", json!({})))
            .await
            .unwrap();
        assert_eq!(v.version, i as i64 + 1);
        match registry
            .change_stage(to_production("free", v.version), *source)
            .await
            .unwrap()
        {
            Promotion::Moved { version } => assert_eq!(version.stage, Stage::Production),
            other => panic!("{source:?} without a policy: {other:?}"),
        }
    }
    // A policy asking for one approval.
    registry
        .set_policy("gated", &policy(&[], 1, None), "admin")
        .await
        .unwrap();
    for _ in 0..4 {
        registry
            .register_version(version_with("gated", json!({})))
            .await
            .unwrap();
    }
    let refused = registry
        .change_stage(to_production("gated", 1), StageSource::Transition)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert!(
        refused.message.contains("needs 1 approval"),
        "{}",
        refused.message
    );
    transition(&t.store, "gated", 2, Stage::Staging, "alice", "eval")
        .await
        .unwrap();
    match registry
        .change_stage(to_production("gated", 2), StageSource::Promote)
        .await
        .unwrap()
    {
        Promotion::Requested { request } => assert_eq!(request.version, 2),
        other => panic!("promote: {other:?}"),
    }
    match registry
        .change_stage(to_production("gated", 3), StageSource::Pipeline)
        .await
        .unwrap()
    {
        Promotion::Requested { request } => assert_eq!(request.version, 3),
        other => panic!("pipeline: {other:?}"),
    }
    assert_eq!(
        registry.read().version("gated", 3).await.unwrap().stage,
        Stage::Staging
    );
    match registry
        .change_stage(to_production("gated", 4), StageSource::Rollback)
        .await
        .unwrap()
    {
        Promotion::Moved { version } => assert_eq!(version.stage, Stage::Production),
        other => panic!("rollback: {other:?}"),
    }
    // Nothing but the rollback reached Production.
    assert_eq!(
        registry
            .read()
            .production_version("gated")
            .await
            .unwrap()
            .map(|v| v.version),
        Some(4)
    );
}
