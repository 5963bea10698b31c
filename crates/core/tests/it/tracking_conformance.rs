//! Conformance of the tracking store and registry metadata on every backend (SQLite and
//! PostgreSQL, each on a fresh database): experiments, tracking runs, metric history and
//! latest values, searches with MLflow filters, logged models, the artifact path index,
//! descriptions, tags and aliases. Kept apart from store_conformance.rs, same harness.

use crate::common::{transition, Backend, TestStore};
use ironmage_core::store::{KeyValue, MetricPoint, NewTrackingRun, RunSearch, Stage, ViewType};
use ironmage_core::ErrorCode;
use std::future::Future;

macro_rules! suite {
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

suite! {
    experiments_are_numbered_and_unique => sqlite_experiments_are_numbered_and_unique, postgres_experiments_are_numbered_and_unique;
    metrics_keep_history_and_latest => sqlite_metrics_keep_history_and_latest, postgres_metrics_keep_history_and_latest;
    params_cannot_change_and_batches_are_atomic => sqlite_params_cannot_change_and_batches_are_atomic, postgres_params_cannot_change_and_batches_are_atomic;
    runs_are_searched_filtered_ordered_and_paged => sqlite_runs_are_searched_filtered_ordered_and_paged, postgres_runs_are_searched_filtered_ordered_and_paged;
    logged_models_and_artifact_index => sqlite_logged_models_and_artifact_index, postgres_logged_models_and_artifact_index;
    aliases_tags_and_descriptions => sqlite_aliases_tags_and_descriptions, postgres_aliases_tags_and_descriptions;
    version_search_filters_and_pages_in_sql => sqlite_version_search_filters_and_pages_in_sql, postgres_version_search_filters_and_pages_in_sql;
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

fn code<T: std::fmt::Debug>(r: ironmage_core::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code
}

fn point(key: &str, value: f64, timestamp: i64, step: i64) -> (MetricPoint, Option<String>) {
    let key = key.to_string();
    (
        MetricPoint {
            key,
            value,
            timestamp,
            step,
        },
        None,
    )
}

async fn new_run(t: &TestStore, experiment_id: i64, name: &str) -> String {
    t.store
        .tracking()
        .create_tracking_run(NewTrackingRun {
            experiment_id,
            name: Some(name.into()),
            user_id: "alice".into(),
            start_time: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .id
}

async fn experiments_are_numbered_and_unique(t: TestStore) {
    let s = &t.store;
    let default = s.tracking().experiment(0).await.unwrap();
    assert_eq!(default.name, "Default");
    let tags = [KeyValue::new("owner", "ml")];
    let a = s
        .tracking()
        .create_experiment("churn", &tags)
        .await
        .unwrap();
    let b = s.tracking().create_experiment("fraud", &[]).await.unwrap();
    assert_eq!((a, b), (1, 2));
    let e = s.tracking().experiment_by_name("churn").await.unwrap();
    assert_eq!(e.artifact_location, "mlflow-artifacts:/1");
    assert_eq!(e.tags, tags);
    assert_eq!(
        code(s.tracking().create_experiment("churn", &[]).await),
        ErrorCode::AlreadyExists
    );
    assert_eq!(
        code(s.tracking().experiment_by_name("nope").await),
        ErrorCode::NotFound
    );
    assert_eq!(s.tracking().ensure_experiment("churn").await.unwrap(), 1);
    assert_eq!(s.tracking().ensure_experiment("new").await.unwrap(), 3);
    s.tracking()
        .set_experiment_lifecycle(2, "deleted")
        .await
        .unwrap();
    let active = s
        .tracking()
        .search_experiments(ViewType::ActiveOnly, 0, 100)
        .await
        .unwrap();
    let names: Vec<_> = active.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["new", "churn", "Default"]);
    assert_eq!(
        code(s.tracking().set_experiment_lifecycle(0, "deleted").await),
        ErrorCode::InvalidInput
    );
    // A deleted experiment takes no new runs.
    let refused = s
        .tracking()
        .create_tracking_run(NewTrackingRun {
            experiment_id: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(code(refused), ErrorCode::InvalidInput);
}

async fn metrics_keep_history_and_latest(t: TestStore) {
    let s = &t.store;
    let run = new_run(&t, 0, "r").await;
    // Out of order: the latest value is the highest step, not the last logged.
    let points = [
        point("loss", 0.5, 20, 1),
        point("loss", 0.25, 30, 2),
        point("loss", 1.0, 10, 0),
    ];
    s.tracking()
        .log_batch(&run, &points, &[], &[])
        .await
        .unwrap();
    // The same point twice is kept once; the same point for a logged model too.
    s.tracking()
        .log_batch(&run, &[point("loss", 1.0, 10, 0)], &[], &[])
        .await
        .unwrap();
    let mut for_model = point("loss", 1.0, 10, 0);
    for_model.1 = Some("m-1".into());
    s.tracking()
        .log_batch(&run, &[for_model], &[], &[])
        .await
        .unwrap();
    let history = s.tracking().metric_history(&run, "loss").await.unwrap();
    let steps: Vec<_> = history.iter().map(|m| (m.step, m.value)).collect();
    assert_eq!(steps, [(0, 1.0), (1, 0.5), (2, 0.25)]);
    let full = s.tracking().tracking_run(&run).await.unwrap();
    assert_eq!(full.metrics.len(), 1);
    assert_eq!((full.metrics[0].step, full.metrics[0].value), (2, 0.25));
    assert_eq!(full.info.name, "r");
    assert!(full.tags.contains(&KeyValue::new("mlflow.runName", "r")));
    let ended = s
        .tracking()
        .update_tracking_run(&run, Some("FINISHED"), Some(5_000), None)
        .await
        .unwrap();
    assert_eq!(
        (ended.status.as_str(), ended.end_time),
        ("FINISHED", Some(5_000))
    );
    let bad = s
        .tracking()
        .update_tracking_run(&run, Some("DONE"), None, None)
        .await;
    assert_eq!(code(bad), ErrorCode::InvalidInput);
    assert_eq!(
        code(s.tracking().tracking_run("nope").await),
        ErrorCode::NotFound
    );
    let nan = s
        .tracking()
        .log_batch(&run, &[point("x", f64::NAN, 1, 0)], &[], &[])
        .await;
    assert_eq!(code(nan), ErrorCode::InvalidInput);
}

async fn params_cannot_change_and_batches_are_atomic(t: TestStore) {
    let s = &t.store;
    let run = new_run(&t, 0, "r").await;
    let depth = [KeyValue::new("depth", "5")];
    s.tracking()
        .log_batch(&run, &[], &depth, &[])
        .await
        .unwrap();
    s.tracking()
        .log_batch(&run, &[], &depth, &[])
        .await
        .unwrap();
    // A changed param fails the whole batch: the metric and tag logged with it are not kept.
    let changed = s
        .tracking()
        .log_batch(
            &run,
            &[point("auc", 0.9, 1, 0)],
            &[KeyValue::new("depth", "6")],
            &[KeyValue::new("t", "v")],
        )
        .await;
    assert_eq!(code(changed), ErrorCode::InvalidInput);
    let full = s.tracking().tracking_run(&run).await.unwrap();
    assert_eq!(full.params, depth);
    assert!(full.metrics.is_empty());
    assert!(!full.tags.iter().any(|t| t.key == "t"));
    s.tracking()
        .set_tracking_run_lifecycle(&run, "deleted")
        .await
        .unwrap();
    let on_deleted = s
        .tracking()
        .log_batch(&run, &[point("auc", 0.9, 1, 0)], &[], &[])
        .await;
    assert_eq!(code(on_deleted), ErrorCode::InvalidInput);
}

async fn runs_are_searched_filtered_ordered_and_paged(t: TestStore) {
    let s = &t.store;
    let exp = s.tracking().create_experiment("search", &[]).await.unwrap();
    for (i, (auc, depth, team)) in [
        (0.7, "3", "risk"),
        (0.9, "5", "growth"),
        (0.85, "5", "risk"),
        (0.95, "7", "growth"),
    ]
    .into_iter()
    .enumerate()
    {
        let run = new_run(&t, exp, &format!("r{i}")).await;
        let params = [KeyValue::new("depth", depth)];
        let tags = [KeyValue::new("team", team)];
        s.tracking()
            .log_batch(&run, &[point("auc", auc, 1, 0)], &params, &tags)
            .await
            .unwrap();
    }
    let other = s.tracking().create_experiment("other", &[]).await.unwrap();
    new_run(&t, other, "elsewhere").await;
    let search = |filter: &str, order: &[&str], offset: i64, limit: i64| RunSearch {
        experiment_ids: vec![exp],
        filter: filter.into(),
        view: ViewType::ActiveOnly,
        order_by: order.iter().map(|o| o.to_string()).collect(),
        offset,
        limit,
    };
    let names = |runs: Vec<ironmage_core::store::TrackingRun>| -> Vec<String> {
        runs.into_iter().map(|r| r.info.name).collect()
    };
    let best = s
        .tracking()
        .search_tracking_runs(&search("", &["metrics.auc DESC"], 0, 10))
        .await
        .unwrap();
    assert_eq!(names(best), ["r3", "r1", "r2", "r0"]);
    let filtered = search(
        "metrics.auc > 0.8 and params.depth = '5'",
        &["metrics.auc ASC"],
        0,
        10,
    );
    assert_eq!(
        names(s.tracking().search_tracking_runs(&filtered).await.unwrap()),
        ["r2", "r1"]
    );
    let by_tag = search("tags.team = 'growth' and run_name != 'r1'", &[], 0, 10);
    assert_eq!(
        names(s.tracking().search_tracking_runs(&by_tag).await.unwrap()),
        ["r3"]
    );
    let like = search(
        "attributes.run_name LIKE 'r%' and status = 'RUNNING'",
        &["params.depth DESC", "run_name"],
        0,
        10,
    );
    assert_eq!(
        names(s.tracking().search_tracking_runs(&like).await.unwrap()),
        ["r3", "r1", "r2", "r0"]
    );
    let page2 = search("", &["metrics.auc DESC"], 2, 2);
    assert_eq!(
        names(s.tracking().search_tracking_runs(&page2).await.unwrap()),
        ["r2", "r0"]
    );
    let bad = s
        .tracking()
        .search_tracking_runs(&search("metrics.auc >", &[], 0, 10))
        .await;
    assert_eq!(code(bad), ErrorCode::InvalidInput);
    let bad_order = s
        .tracking()
        .search_tracking_runs(&search("", &["metrics.auc SIDEWAYS"], 0, 10))
        .await;
    assert_eq!(code(bad_order), ErrorCode::InvalidInput);
    // User text is bound, never spliced: SQL in a value is just characters.
    let injected = search("params.depth = '5 OR 1=1'", &[], 0, 10);
    assert!(s
        .tracking()
        .search_tracking_runs(&injected)
        .await
        .unwrap()
        .is_empty());
}

async fn logged_models_and_artifact_index(t: TestStore) {
    let s = &t.store;
    let run = new_run(&t, 0, "r").await;
    let params = [KeyValue::new("n_estimators", "50")];
    let model = s
        .tracking()
        .create_logged_model(0, "model", Some(&run), "", &params, &[])
        .await
        .unwrap();
    assert!(model.id.starts_with("m-"));
    assert_eq!(model.status, "LOGGED_MODEL_PENDING");
    assert_eq!(
        model.artifact_uri(),
        format!("mlflow-artifacts:/0/models/{}/artifacts", model.id)
    );
    let ready = s
        .tracking()
        .set_logged_model_status(&model.id, "LOGGED_MODEL_READY")
        .await
        .unwrap();
    assert_eq!(ready.status, "LOGGED_MODEL_READY");
    assert_eq!(
        code(
            s.tracking()
                .set_logged_model_status(&model.id, "DONE")
                .await
        ),
        ErrorCode::InvalidInput
    );
    let found = s
        .tracking()
        .search_logged_models(&[0], Some("model"), 0, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(s
        .tracking()
        .search_logged_models(&[0], Some("other"), 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(s.tracking().logged_model("m-nope").await),
        ErrorCode::NotFound
    );

    let dir = model.artifact_path();
    s.tracking()
        .index_artifact(&format!("{dir}/MLmodel"), "sha256:a", 10)
        .await
        .unwrap();
    s.tracking()
        .index_artifact(&format!("{dir}/sub/x_1.json"), "sha256:b", 20)
        .await
        .unwrap();
    s.tracking()
        .index_artifact(&format!("{dir}/sub/y.json"), "sha256:c", 30)
        .await
        .unwrap();
    s.tracking()
        .index_artifact(&format!("{dir}x/elsewhere"), "sha256:d", 40)
        .await
        .unwrap();
    let listed: Vec<_> = s
        .tracking()
        .list_artifacts(&dir)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.is_dir, e.file_size))
        .collect();
    assert_eq!(
        listed,
        [
            ("MLmodel".to_string(), false, Some(10)),
            ("sub".to_string(), true, None)
        ]
    );
    assert_eq!(
        s.tracking()
            .artifact_file(&format!("{dir}/MLmodel"))
            .await
            .unwrap()
            .as_deref(),
        Some("sha256:a")
    );
    assert!(s
        .tracking()
        .list_artifacts(&format!("{dir}/MLmodel"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.tracking().artifact_file("nope").await.unwrap(), None);
}

async fn aliases_tags_and_descriptions(t: TestStore) {
    let s = &t.store;
    let tags = [KeyValue::new("domain", "churn")];
    s.registry()
        .create_registered_model("churn", "first", &tags)
        .await
        .unwrap();
    assert_eq!(
        code(s.registry().create_registered_model("churn", "", &[]).await),
        ErrorCode::AlreadyExists
    );
    assert_eq!(
        code(
            s.registry()
                .create_registered_model("bad name", "", &[])
                .await
        ),
        ErrorCode::InvalidInput
    );
    let v1 = s
        .registry()
        .create_mlflow_version(
            "churn",
            "models:/m-1",
            None,
            Some("m-1"),
            Default::default(),
        )
        .await
        .unwrap();
    let v2 = s
        .registry()
        .create_mlflow_version("churn", "runs:/r/model", None, None, Default::default())
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v1.mlflow_source().unwrap().model_id.as_deref(), Some("m-1"));

    s.registry()
        .set_alias("churn", "champion", 1)
        .await
        .unwrap();
    s.registry()
        .set_alias("churn", "challenger", 2)
        .await
        .unwrap();
    s.registry()
        .set_alias("churn", "champion", 2)
        .await
        .unwrap();
    assert_eq!(
        s.registry()
            .alias_version("churn", "champion")
            .await
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        code(s.registry().alias_version("churn", "nope").await),
        ErrorCode::InvalidInput
    );
    for bad in ["latest", "v3", "a b", ""] {
        assert_eq!(
            code(s.registry().set_alias("churn", bad, 1).await),
            ErrorCode::InvalidInput,
            "{bad}"
        );
    }
    assert_eq!(
        code(s.registry().set_alias("churn", "x", 9).await),
        ErrorCode::NotFound
    );
    let model = s.registry().registered_model("churn").await.unwrap();
    assert_eq!(
        model.aliases,
        [("challenger".to_string(), 2), ("champion".to_string(), 2)]
    );
    assert_eq!(model.tags, tags);
    assert_eq!(model.description, "first");

    s.registry()
        .set_model_description("churn", "second")
        .await
        .unwrap();
    s.registry()
        .set_model_tag("churn", "domain", None)
        .await
        .unwrap();
    s.registry()
        .set_version_description("churn", 1, "baseline")
        .await
        .unwrap();
    s.registry()
        .set_version_tag("churn", 1, "validated", Some("true"))
        .await
        .unwrap();
    let meta = s.registry().version_meta("churn", 1).await.unwrap();
    assert_eq!(meta.description, "baseline");
    assert_eq!(meta.tags, [KeyValue::new("validated", "true")]);
    assert!(meta.last_update_time.is_some());
    let model = s.registry().registered_model("churn").await.unwrap();
    assert_eq!(
        (model.description.as_str(), model.tags.len()),
        ("second", 0)
    );
    assert_eq!(
        code(s.registry().registered_model("nope").await),
        ErrorCode::NotFound
    );
    // Stage changes keep metadata; the transition path is the registry's own.
    transition(s, "churn", 2, Stage::Production, "alice", "ship")
        .await
        .unwrap();
    assert_eq!(
        s.registry().version_meta("churn", 2).await.unwrap().aliases,
        ["challenger", "champion"]
    );
}

/// `model-versions/search` in SQL: each filter form, `!=` matching versions without the tag, the
/// order (model, then newest first), paging with "more", and each version's meta on the page.
async fn version_search_filters_and_pages_in_sql(t: TestStore) {
    let r = t.store.registry();
    for model in ["churn", "sales"] {
        r.create_registered_model(model, "", &[]).await.unwrap();
        for i in 0..3 {
            let run = format!("run-{model}-{i}");
            r.create_mlflow_version(model, "runs:/r/model", Some(&run), None, Default::default())
                .await
                .unwrap();
        }
    }
    r.set_version_tag("churn", 2, "team", Some("risk"))
        .await
        .unwrap();
    r.set_version_tag("sales", 1, "team", Some("ops"))
        .await
        .unwrap();
    r.set_alias("churn", "champion", 2).await.unwrap();
    let ids = |page: &[(
        ironmage_core::store::ModelVersion,
        ironmage_core::store::VersionMeta,
    )]| {
        page.iter()
            .map(|(v, _)| format!("{}/{}", v.model, v.version))
            .collect::<Vec<_>>()
    };
    let (all, more) = r.search_versions("", 0, 100).await.unwrap();
    assert!(!more);
    assert_eq!(
        ids(&all),
        ["churn/3", "churn/2", "churn/1", "sales/3", "sales/2", "sales/1"]
    );
    let (churn2, _) = r.search_versions("tag.team = 'risk'", 0, 10).await.unwrap();
    assert_eq!(ids(&churn2), ["churn/2"]);
    assert_eq!(churn2[0].1.aliases, ["champion"]);
    assert_eq!(churn2[0].1.tags[0].value, "risk");
    let (not_risk, _) = r
        .search_versions("tag.team != 'risk'", 0, 10)
        .await
        .unwrap();
    assert_eq!(not_risk.len(), 5, "versions without the tag match !=");
    let (sales, _) = r.search_versions("name = 'sales'", 0, 10).await.unwrap();
    assert_eq!(ids(&sales), ["sales/3", "sales/2", "sales/1"]);
    let (like, _) = r.search_versions("name LIKE 'ch%'", 0, 10).await.unwrap();
    assert_eq!(like.len(), 3);
    let (ilike, _) = r.search_versions("name ILIKE 'SAL%'", 0, 10).await.unwrap();
    assert_eq!(ilike.len(), 3);
    let (by_run, _) = r
        .search_versions("run_id = 'run-sales-0'", 0, 10)
        .await
        .unwrap();
    assert_eq!(ids(&by_run), ["sales/1"]);
    let (both, _) = r
        .search_versions("name = 'churn' AND tag.team = 'risk'", 0, 10)
        .await
        .unwrap();
    assert_eq!(ids(&both), ["churn/2"]);
    let (first, more) = r.search_versions("", 0, 4).await.unwrap();
    assert!(more);
    assert_eq!(first.len(), 4);
    let (rest, more) = r.search_versions("", 4, 4).await.unwrap();
    assert!(!more);
    assert_eq!(ids(&rest), ["sales/2", "sales/1"]);
    for bad in ["metrics.auc > 0.5", "name > 'a'", "name = 3"] {
        let err = r.search_versions(bad, 0, 10).await.unwrap_err();
        assert_eq!(err.field.as_deref(), Some("filter"), "{bad}: {err}");
    }
}
