//! The shipped pipelines and the `command` block, run end to end on SQLite: data hand-over
//! both ways, gates and promotion stages, and the registered models served from raw requests.

use crate::common::platform::{demo_platform, run_pipeline, write_pipeline};
use ironmage_core::model::Model;
use ironmage_core::pyfunc::Export;
use ironmage_core::serving::{parse_request, Score, ServedModel};
use ironmage_core::store::{RunStatus, Stage};
use ironmage_core::synthetic_tables::{credit_borrowers, TableSpec};
use ironmage_core::table::write_csv;
use ironmage_core::Platform;
use serde_json::{json, Map, Value};

fn vars(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Run a pipeline to its end; the outcome and every block's (name, status, error, logs).
async fn run(
    p: &Platform,
    pipeline: &str,
    variables: Value,
) -> (
    RunStatus,
    Value,
    Vec<(String, String, Option<String>, Vec<String>)>,
) {
    let (outcome, blocks) = run_pipeline(p, pipeline, vars(variables)).await;
    let blocks = blocks
        .into_iter()
        .map(|b| (b.block, b.status.as_str().to_string(), b.error, b.logs))
        .collect();
    (outcome.status, outcome.summary, blocks)
}

async fn served(p: &Platform, model: &str) -> ServedModel {
    let version = p
        .registry
        .read()
        .versions(model)
        .await
        .unwrap()
        .pop()
        .unwrap();
    ServedModel::load(&p.artifacts, version).unwrap()
}

#[tokio::test]
async fn credit_risk_reaches_production_and_serves_raw_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    let (status, summary, blocks) =
        run(&p, "credit_risk", json!({"rows": 3000, "trees": 30})).await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    let production = p
        .registry
        .read()
        .production_version("credit_risk")
        .await
        .unwrap()
        .expect("promoted");
    assert!(
        production.metrics["auc_score"].as_f64().unwrap() >= 0.75,
        "{summary}"
    );
    assert!(summary["data_version"]
        .as_str()
        .unwrap()
        .starts_with("data_v_"));
    let model = served(&p, "credit_risk").await;
    // Beside the bundle, the MLflow model folder under the run's artifacts, whose model.json
    // is the served bundle exactly.
    let folder = production.mlflow_folder().expect("an MLflow model folder");
    let run_id = production.run_id.clone().unwrap();
    assert_eq!(folder.source, format!("runs:/{run_id}/model"));
    let tracked = p.tracking.tracking_run_info(&run_id).await.unwrap();
    assert_eq!(folder.folder, format!("{}/model", tracked.artifact_path()));
    let files = p.tracking.folder_files(&folder.folder).await.unwrap();
    let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "MLmodel",
            "code/ironmage_pyfunc.py",
            "conda.yaml",
            "model.json",
            "python_env.yaml",
            "requirements.txt"
        ]
    );
    let model_json = p.artifacts.get(&files[3].1).unwrap();
    let exported = Export::from_json(std::str::from_utf8(&model_json).unwrap()).unwrap();
    assert_eq!(exported, Export::new(&model.bundle));
    // A raw applicant, income missing: imputed and scaled by the served model itself.
    let body = json!({"RevolvingUtilizationOfUnsecuredLines": 0.9, "age": 30, "NumberOfTime30-59DaysPastDueNotWorse": 2,
        "DebtRatio": 0.5, "MonthlyIncome": null, "NumberOfOpenCreditLinesAndLoans": 4, "NumberOfTimes90DaysLate": 1,
        "NumberRealEstateLoansOrLines": 0, "NumberOfTime60-89DaysPastDueNotWorse": 1, "NumberOfDependents": 2});
    let err = parse_request(&model.bundle.schema, &body).unwrap_err();
    assert_eq!(
        err.field.as_deref(),
        Some("MonthlyIncome"),
        "null is not a number"
    );
    let mut body = body;
    body["MonthlyIncome"] = json!(2500);
    let row = parse_request(&model.bundle.schema, &body)
        .unwrap()
        .rows
        .remove(0);
    let Score::Class { positive, .. } = model.score(row) else {
        panic!("a classifier")
    };
    assert!(positive > 0.2, "a risky applicant scores {positive}");

    // The same data as a CSV (Kaggle's layout, index column first) is the same dataset version.
    let table = credit_borrowers(&TableSpec {
        rows: 3000,
        seed: 42,
    })
    .unwrap();
    let csv = write_csv(&table)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!(",{l}")
            } else {
                format!("{i},{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("project/cs-training.csv"), csv).unwrap();
    let (status, again, blocks) = run(
        &p,
        "credit_risk",
        json!({"rows": 3000, "trees": 30, "csv_path": "cs-training.csv"}),
    )
    .await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    assert_eq!(again["data_hash"], summary["data_hash"]);
    assert_eq!(
        again["metrics"], summary["metrics"],
        "same data and seed, same metrics"
    );
}

#[tokio::test]
async fn sales_forecast_passes_the_rmspe_gate_into_staging_and_serves_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    let (status, summary, blocks) =
        run(&p, "sales_forecast", json!({"rows": 3000, "trees": 30})).await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    let version = p
        .registry
        .read()
        .versions("sales_forecast")
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(version.stage, Stage::Staging, "{summary}");
    assert!(version.metrics["rmspe"].as_f64().unwrap() < 0.10);
    let model = served(&p, "sales_forecast").await;
    let body = json!({"Store": 3, "DayOfWeek": 1, "Promo": 1, "StateHoliday": 0, "SchoolHoliday": 0, "Month": 12,
        "StoreType": "b", "Assortment": "never-seen", "CompetitionDistance": 800});
    let row = parse_request(&model.bundle.schema, &body)
        .unwrap()
        .rows
        .remove(0);
    let Score::Value(sales) = model.score(row) else {
        panic!("a regressor")
    };
    assert!(sales > 1000.0 && sales < 30000.0, "{sales}");
    // Previews carry the scalars `when:` conditions read.
    let run_id = p.registry.read().versions("sales_forecast").await.unwrap()[0]
        .run_id
        .clone()
        .unwrap();
    let previews: std::collections::HashMap<String, Value> = p
        .runs
        .run_detail(&run_id)
        .await
        .unwrap()
        .blocks
        .into_iter()
        .map(|b| (b.block, b.preview.unwrap_or_default()))
        .collect();
    assert_eq!(previews["split"]["rows"], 3000);
    assert_eq!(previews["split"]["test_rows"], 600);
    assert!(
        previews["load_sales"]["stats"]["CompetitionDistance"]["missing"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(previews["load_sales"]["stats"]["StoreType"]["distinct"], 4);
    assert!(previews["train"]["metrics"]["rmspe"].is_f64());
    assert_eq!(previews["evaluate"]["passed"], true);
    assert_eq!(previews["register"]["version"], 1);
    assert_eq!(previews["promote"]["passed"], true);
    let answer = model.answer(Score::Value(sales));
    assert!(answer.get("probability").is_none() && answer["prediction"].is_f64());

    // A gate it cannot pass: the version is registered, but not promoted, and the reason says why.
    let (status, summary, _) = run(
        &p,
        "sales_forecast",
        json!({"rows": 3000, "trees": 30, "max_rmspe": 0.0001}),
    )
    .await;
    assert_eq!(status, RunStatus::Success);
    assert_eq!(summary["deployment"]["status"], "rejected");
    assert!(
        summary["deployment"]["reason"]
            .as_str()
            .unwrap()
            .contains(">= 0.0001"),
        "{summary}"
    );
}

#[tokio::test]
async fn python_features_hands_tables_to_python_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    let (status, _, blocks) = run(&p, "python_features", json!({"rows": 600})).await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    let features = blocks.iter().find(|b| b.0 == "features").unwrap();
    assert!(
        features
            .3
            .iter()
            .any(|l| l.contains("wrote 600 rows with 3 new features (calls weight 2.0)")),
        "{:?}",
        features.3
    );
    let model = served(&p, "churn_python").await;
    assert!(model
        .bundle
        .schema
        .features
        .contains(&"complaints".to_string()));
}

#[tokio::test]
async fn command_blocks_chain_csv_both_ways_and_fail_with_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    std::fs::write(
        dir.path().join("project/people.csv"),
        "name,age,city\nAda,36,London\nAlan,41,\"Wilmslow, UK\"\nGrace,,NYC\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("project/double.py"),
        "import csv, os\nrows = list(csv.DictReader(open(os.environ['IRONMAGE_INPUT_PEOPLE'])))\nfactor = float(os.environ['IRONMAGE_VAR_FACTOR'])\n\
for r in rows:\n    r['age2'] = '' if r['age'] == '' else float(r['age']) * factor\n\
w = csv.DictWriter(open(os.environ['IRONMAGE_OUTPUT'], 'w', newline=''), fieldnames=list(rows[0]))\nw.writeheader(); w.writerows(rows)\nprint('doubled', len(rows))\n",
    )
    .unwrap();
    write_pipeline(
        dir.path(),
        "handover",
        r#"name: handover
variables: {factor: 2}
blocks:
  - {name: people, kind: csv, config: {path: people.csv}}
  - {name: doubled, kind: command, upstream: [people], config: {command: [python3, double.py], params: {factor: "${factor}"}}}
  - name: check
    kind: command
    upstream: [doubled, people]
    config:
      shell: 'head -1 "$IRONMAGE_INPUT_DOUBLED"; grep -c London "$IRONMAGE_INPUT_PEOPLE"; tail -3 "$IRONMAGE_INPUT_DOUBLED" | awk -F, "{printf \"%s \", \$NF}"; echo; cp "$IRONMAGE_INPUT_DOUBLED" "$IRONMAGE_OUTPUT"'
"#,
    );
    let (status, _, blocks) = run(&p, "handover", json!({})).await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    let logs = |name: &str| blocks.iter().find(|b| b.0 == name).unwrap().3.join("\n");
    assert!(logs("doubled").contains("doubled 3"), "{}", logs("doubled"));
    let check = logs("check");
    assert!(check.contains("name,age,city,age2"), "{check}");
    assert!(
        check.contains("72 82"),
        "ages doubled by Python, read back, written again: {check}"
    );

    write_pipeline(
        dir.path(),
        "broken",
        "name: broken\nblocks:\n  - {name: fail, kind: command, config: {shell: 'echo starting; echo bad thing >&2; exit 3'}}\n",
    );
    let (status, _, blocks) = run(&p, "broken", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let error = blocks[0].2.clone().unwrap();
    assert!(
        error.contains("bad thing") && error.contains("exit status: 3"),
        "{error}"
    );
    assert!(blocks[0].3.iter().any(|l| l == "starting"));

    write_pipeline(dir.path(), "both", "name: both\nblocks:\n  - {name: x, kind: command, config: {shell: 'true', command: ['true']}}\n");
    let err = p
        .runs
        .create_run("both", Map::new(), "test")
        .await
        .unwrap_err();
    assert!(
        err.message.contains("block x") && err.message.contains("config.shell"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn sql_loads_the_metadata_database_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    std::fs::write(dir.path().join("project/t.csv"), "a,b\n1,x\n2,y\n").unwrap();
    write_pipeline(
        dir.path(),
        "seed",
        "name: seed\nblocks:\n  - {name: t, kind: csv, config: {path: t.csv}}\n",
    );
    assert_eq!(run(&p, "seed", json!({})).await.0, RunStatus::Success);
    write_pipeline(
        dir.path(),
        "meta",
        "name: meta\nblocks:\n  - {name: q, kind: sql, config: {query: 'SELECT version, row_count, feature_count FROM datasets'}}\n",
    );
    let (status, summary, blocks) = run(&p, "meta", json!({})).await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    assert!(
        blocks[0]
            .3
            .iter()
            .any(|l| l.contains("Query returned 1 rows, 3 columns")),
        "{blocks:?}"
    );
    assert!(summary["data_version"].is_string());

    write_pipeline(
        dir.path(),
        "bad",
        "name: bad\nblocks:\n  - {name: q, kind: sql, config: {query: 'DELETE FROM datasets'}}\n",
    );
    let err = p
        .runs
        .create_run("bad", Map::new(), "test")
        .await
        .unwrap_err();
    assert!(
        err.message.contains("block q") && err.message.contains("config.query"),
        "{}",
        err.message
    );

    let Ok(url) = std::env::var("IRONMAGE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set IRONMAGE_TEST_POSTGRES_URL"
        );
        return;
    };
    let yaml = format!(
        "name: pg\nblocks:\n  - {{name: q, kind: sql, config: {{url: '{url}', label: n, query: \"SELECT n, (n * 0.5)::float8 AS half, CASE WHEN n > 2 THEN 'big' END AS size FROM generate_series(1, 4) AS n\"}}}}\n"
    );
    write_pipeline(dir.path(), "pg", &yaml);
    let (status, _, blocks) = run(&p, "pg", json!({})).await;
    assert_eq!(status, RunStatus::Success, "{blocks:?}");
    assert!(
        blocks[0]
            .3
            .iter()
            .any(|l| l.contains("Query returned 4 rows, 3 columns")),
        "{blocks:?}"
    );
}

#[tokio::test]
async fn sql_transform_joins_two_upstream_tables_and_feeds_a_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    write_pipeline(
        dir.path(),
        "joined",
        r#"name: joined
blocks:
  - {name: customers, kind: synthetic_churn, config: {rows: 400, seed: 5}}
  - name: plans
    kind: sql
    config:
      query: "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 24) SELECT n AS contract_length, CASE WHEN n >= 12 THEN 'long' ELSE 'short' END AS plan FROM c"
  - name: features
    kind: sql_transform
    upstream: [customers, plans]
    config:
      query: >
        SELECT c.*, p.plan, c.monthly_charges * 12 AS yearly_charges
        FROM customers c LEFT JOIN df_2 p ON p.contract_length = c.contract_length
  - {name: encoded, kind: one_hot, upstream: [features], config: {}}
  - {name: prepared, kind: preprocess, upstream: [encoded], config: {}}
  - {name: train, kind: random_forest_classifier, upstream: [prepared], config: {n_estimators: 10}}
"#,
    );
    let created = p
        .runs
        .create_run("joined", Map::new(), "test")
        .await
        .unwrap();
    p.runs
        .execute_run(&created.id, "test", &|_| {})
        .await
        .unwrap()
        .unwrap();
    let detail = p.runs.run_detail(&created.id).await.unwrap();
    assert_eq!(detail.run.status, RunStatus::Success, "{:?}", detail.blocks);
    let features = detail
        .blocks
        .iter()
        .find(|b| b.block == "features")
        .unwrap();
    assert!(
        features
            .logs
            .iter()
            .any(|l| l.contains("Query over customers, plans returned 400 rows, 13 columns")),
        "{:?}",
        features.logs
    );
    let preview = features.preview.clone().unwrap();
    // The upstream label follows, and the joined text column arrives as text.
    assert_eq!(preview["label"], "churn", "{preview}");
    let plan = preview["schema"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "plan")
        .unwrap();
    assert_eq!(plan["type"], "text", "{preview}");

    // A split upstream table, a refused statement and a bad column are errors naming the place.
    write_pipeline(
        dir.path(),
        "after_split",
        "name: after_split\nblocks:\n  - {name: c, kind: synthetic_churn, config: {rows: 50}}\n  - {name: s, kind: split, upstream: [c], config: {}}\n  - {name: q, kind: sql_transform, upstream: [s], config: {query: 'SELECT * FROM s'}}\n",
    );
    let (status, _, blocks) = run(&p, "after_split", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let q = blocks.iter().find(|b| b.0 == "q").unwrap();
    assert!(
        q.2.as_deref().unwrap_or("").contains("split table"),
        "{q:?}"
    );

    write_pipeline(
        dir.path(),
        "attach",
        "name: attach\nblocks:\n  - {name: c, kind: synthetic_churn, config: {rows: 50}}\n  - {name: q, kind: sql_transform, upstream: [c], config: {query: \"SELECT * FROM c; ATTACH DATABASE 'x.db' AS x\"}}\n",
    );
    let err = p
        .runs
        .create_run("attach", Map::new(), "test")
        .await
        .unwrap_err();
    assert!(
        err.message.contains("block q") && err.message.contains("ATTACH is not allowed"),
        "{}",
        err.message
    );

    write_pipeline(
        dir.path(),
        "typo",
        "name: typo\nblocks:\n  - {name: c, kind: synthetic_churn, config: {rows: 50}}\n  - {name: q, kind: sql_transform, upstream: [c], config: {query: 'SELECT nope FROM c'}}\n",
    );
    let (status, _, blocks) = run(&p, "typo", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let q = blocks.iter().find(|b| b.0 == "q").unwrap();
    assert!(q.2.as_deref().unwrap_or("").contains("nope"), "{q:?}");

    write_pipeline(
        dir.path(),
        "alone",
        "name: alone\nblocks:\n  - {name: q, kind: sql_transform, config: {query: 'SELECT 1'}}\n",
    );
    let err = p
        .runs
        .create_run("alone", Map::new(), "test")
        .await
        .unwrap_err();
    assert!(
        err.message.contains("one or more tables"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn secrets_reach_block_configs_and_are_masked_in_logs_and_errors() {
    // nextest runs each test in its own process: this environment is this test's.
    std::env::set_var("IRONMAGE_SECRET_API_TOKEN", "tok-1234-secret");
    std::env::set_var("IRONMAGE_SECRET_DATA_FILE", "people.csv");
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    std::fs::write(dir.path().join("project/people.csv"), "name,age\nAda,36\n").unwrap();
    write_pipeline(
        dir.path(),
        "secret",
        r#"name: secret
blocks:
  - {name: load, kind: csv, config: {path: "${secret.data_file}"}}
  - name: call
    kind: command
    upstream: [load]
    config: {shell: "echo calling with ${secret.api_token}; echo refused token ${secret.api_token} >&2; exit 3"}
"#,
    );
    let (status, _, blocks) = run(&p, "secret", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    assert_eq!(blocks[0].1, "success", "{blocks:?}");
    let call = &blocks[1];
    let everything = format!("{:?} {:?}", call.2, call.3);
    assert!(!everything.contains("tok-1234-secret"), "{everything}");
    assert!(
        call.3.iter().any(|l| l.contains("calling with ****")),
        "{call:?}"
    );
    assert!(
        call.2.as_deref().unwrap().contains("refused token ****"),
        "{call:?}"
    );
    // What the run recorded is the reference, never the value.
    let stored =
        std::fs::read_to_string(dir.path().join("project/pipelines/secret/pipeline.yaml")).unwrap();
    assert!(stored.contains("${secret.api_token}"));

    write_pipeline(
        dir.path(),
        "unset",
        "name: unset\nblocks:\n  - {name: load, kind: csv, config: {path: '${secret.nope}'}}\n",
    );
    let (status, _, blocks) = run(&p, "unset", json!({})).await;
    assert_eq!(status, RunStatus::Failed);
    let error = blocks[0].2.as_deref().unwrap();
    assert!(
        error.contains("config.path") && error.contains("IRONMAGE_SECRET_NOPE"),
        "{error}"
    );
}

#[tokio::test]
async fn every_trainer_runs_deterministically_and_bad_configs_name_block_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    write_pipeline(
        dir.path(),
        "trainers",
        r#"name: trainers
blocks:
  - {name: credit, kind: synthetic_credit, config: {rows: 1500, seed: 3}}
  - {name: credit_split, kind: split, upstream: [credit], config: {seed: 1}}
  - {name: credit_filled, kind: impute, upstream: [credit_split], config: {strategy: mean}}
  - {name: credit_scaled, kind: scale, upstream: [credit_filled], config: {}}
  - {name: logistic, kind: logistic_regression, upstream: [credit_scaled], config: {l2: 1.0}}
  - {name: tree, kind: decision_tree, upstream: [credit_scaled], config: {task: classifier, max_depth: 4}}
  - {name: boosted, kind: gradient_boosting_classifier, upstream: [credit_scaled], config: {max_iter: 40}}
  - {name: sales, kind: synthetic_sales, config: {rows: 1500, seed: 3}}
  - {name: sales_split, kind: split, upstream: [sales], config: {}}
  - {name: sales_filled, kind: impute, upstream: [sales_split], config: {strategy: constant, value: 5000}}
  - {name: sales_encoded, kind: one_hot, upstream: [sales_filled], config: {}}
  - {name: sales_kept, kind: select_columns, upstream: [sales_encoded], config: {columns: [Promo, DayOfWeek, StoreType=b, Assortment=extended]}}
  - {name: sales_renamed, kind: rename_columns, upstream: [sales_kept], config: {columns: {Sales: revenue}}}
  - {name: linear, kind: linear_regression, upstream: [sales_renamed], config: {l2: 0.1}}
  - {name: regression_tree, kind: decision_tree, upstream: [sales_renamed], config: {task: regressor, max_depth: 6}}
  - {name: boosted_sales, kind: gradient_boosting_regressor, upstream: [sales_renamed], config: {max_iter: 40, early_stopping: true}}
  - {name: register_linear, kind: register_model, upstream: [linear], config: {model: sales_linear}}
  - {name: register_boosted, kind: register_model, upstream: [boosted_sales], config: {model: sales_boosted}}
"#,
    );
    let metrics = |blocks: &[(String, String, Option<String>, Vec<String>)]| -> Vec<String> {
        blocks
            .iter()
            .map(|b| {
                format!(
                    "{} {} {}",
                    b.0,
                    b.1,
                    b.3.iter()
                        .filter(|l| l.contains(": 0.") || l.contains("RMSE"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("|")
                )
            })
            .collect()
    };
    let (status, _, first) = run(&p, "trainers", json!({})).await;
    assert_eq!(status, RunStatus::Success, "{first:?}");
    // Two models registered by one run: an MLflow model folder each, named after its block.
    for (model, block) in [
        ("sales_linear", "register_linear"),
        ("sales_boosted", "register_boosted"),
    ] {
        let v = p.registry.read().version(model, 1).await.unwrap();
        let folder = v.mlflow_folder().expect("an MLflow model folder");
        let run_id = v.run_id.as_deref().unwrap();
        assert_eq!(folder.source, format!("runs:/{run_id}/model_{block}"));
        assert!(p
            .tracking
            .artifact_file(&format!("{}/MLmodel", folder.folder))
            .await
            .unwrap()
            .is_some());
    }
    let (_, _, second) = run(&p, "trainers", json!({})).await;
    assert_eq!(
        metrics(&first),
        metrics(&second),
        "same data and seed, same metrics"
    );
    let logistic = first
        .iter()
        .find(|b| b.0 == "logistic")
        .unwrap()
        .3
        .join("\n");
    assert!(
        logistic.contains("AUC Score: 0.8") || logistic.contains("AUC Score: 0.7"),
        "{logistic}"
    );
    let boosted = first
        .iter()
        .find(|b| b.0 == "boosted")
        .unwrap()
        .3
        .join("\n");
    assert!(boosted.contains("AUC Score: 0."), "{boosted}");
    // Requests carry the raw columns (the label renamed in training is still not one of them);
    // the model reads the selected one-hot columns.
    let model = served(&p, "sales_linear").await;
    assert_eq!(model.bundle.schema.label, "Sales");
    assert_eq!(
        model.bundle.schema.features,
        ["Promo", "DayOfWeek", "StoreType=b", "Assortment=extended"]
    );
    let body = json!({"Store": 1, "DayOfWeek": 1, "Promo": 1, "StateHoliday": 0, "SchoolHoliday": 0, "Month": 3,
        "StoreType": "b", "Assortment": "basic", "CompetitionDistance": 900});
    let row = parse_request(&model.bundle.schema, &body)
        .unwrap()
        .rows
        .remove(0);
    assert!(matches!(model.score(row.clone()), Score::Value(v) if v > 0.0));
    let boosted = served(&p, "sales_boosted").await;
    assert!(matches!(boosted.bundle.model, Model::Boosting(_)));
    assert!(matches!(boosted.score(row), Score::Value(v) if v > 0.0));

    let bad = [
        (
            "{name: f, kind: impute, upstream: [l], config: {strategy: constant}}",
            "config.value",
        ),
        (
            "{name: f, kind: evaluate, upstream: [t], config: {gates: [{metric: speed, min: 1}]}}",
            "config.gates[0].metric",
        ),
        (
            "{name: f, kind: decision_tree, upstream: [l], config: {task: forest}}",
            "config.task",
        ),
        (
            "{name: f, kind: promote, upstream: [r], config: {to: moon}}",
            "config.to",
        ),
        (
            "{name: f, kind: gradient_boosting_classifier, upstream: [l], config: {learning_rate: 0}}",
            "config.learning_rate",
        ),
        (
            "{name: f, kind: gradient_boosting_regressor, upstream: [l], config: {max_bins: 1}}",
            "config.max_bins",
        ),
    ];
    for (block, field) in bad {
        let yaml = format!(
            "name: bad\nblocks:\n  - {{name: l, kind: synthetic_credit, config: {{}}}}\n  - {{name: t, kind: random_forest_classifier, upstream: [l], config: {{}}}}\n  - {{name: r, kind: register_model, upstream: [t], config: {{model: m}}}}\n  - {block}\n"
        );
        write_pipeline(dir.path(), "bad", &yaml);
        let err = p
            .runs
            .create_run("bad", Map::new(), "test")
            .await
            .unwrap_err();
        assert!(
            err.message.contains("block f") && err.message.contains(field),
            "{field}: {}",
            err.message
        );
    }
}

#[tokio::test]
async fn dropping_a_running_command_kills_its_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_platform(dir.path()).await;
    let pid_file = dir.path().join("pid");
    write_pipeline(
        dir.path(),
        "slow",
        &format!("name: slow\nblocks:\n  - {{name: s, kind: command, config: {{shell: 'sleep 60 & echo $! > {}; wait'}}}}\n", pid_file.display()),
    );
    let run = p.runs.create_run("slow", Map::new(), "test").await.unwrap();
    // The engine cancels or times out a block by dropping its future: do the same here.
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        p.runs.execute_run(&run.id, "test", &|_| {}),
    )
    .await;
    assert!(ended.is_err(), "the command should still be running");
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    let mut alive = true;
    for _ in 0..50 {
        alive = std::process::Command::new("kill")
            .args(["-0", &pid])
            .status()
            .unwrap()
            .success();
        if !alive {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !alive,
        "the grandchild `sleep` (pid {pid}) outlived the block"
    );
}
