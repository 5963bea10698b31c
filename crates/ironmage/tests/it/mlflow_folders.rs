//! What MLflow's registry routes say about versions that ironmage trained: with an MLflow model
//! folder (registered by a pipeline since ironmage writes them), the folder is the version's
//! `source` and download URI; without one (registered before), the download URI is refused
//! with a message that says why.

use crate::common::TestStack;
use ironmage_core::store::{ArtifactRefs, MlflowFolder, NewVersion};
use serde_json::{json, Value};

async fn register(t: &TestStack, model: &str, lineage: Value) -> i64 {
    let v = t
        .stack
        .platform
        .registry
        .register_version(NewVersion {
            model: model.into(),
            label: "v".into(),
            run_id: Some("0123456789abcdef0123456789abcdef".into()),
            dataset_version: None,
            artifacts: ArtifactRefs {
                model: "sha256:m".into(),
                scaler: "sha256:s".into(),
                schema: "sha256:f".into(),
            },
            metrics: Default::default(),
            hyperparameters: Default::default(),
            lineage,
        })
        .await
        .unwrap();
    v.version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_with_and_without_an_mlflow_folder() {
    let t = TestStack::start().await;
    let folder = MlflowFolder {
        source: "runs:/0123456789abcdef0123456789abcdef/model".into(),
        folder: "1/0123456789abcdef0123456789abcdef/artifacts/model".into(),
    };
    let before = register(&t, "churn", json!({})).await;
    let after = register(
        &t,
        "churn",
        json!({MlflowFolder::LINEAGE_KEY: folder.lineage()}),
    )
    .await;

    let get = |v: i64| format!("/api/2.0/mlflow/model-versions/get?name=churn&version={v}");
    let uri =
        |v: i64| format!("/api/2.0/mlflow/model-versions/get-download-uri?name=churn&version={v}");
    let (status, body) = t.send("GET", &get(after), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["source"], folder.source);
    let (status, body) = t.send("GET", &uri(after), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["artifact_uri"],
        format!("mlflow-artifacts:/{}", folder.folder)
    );

    let (_, body) = t.send("GET", &get(before), None).await;
    assert_eq!(body["model_version"]["source"], "ironmage:/churn/1");
    let (status, body) = t.send("GET", &uri(before), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("before it wrote MLflow model folders"),
        "{message}"
    );

    // Serving is unchanged: the folder is beside the bundle, not instead of it.
    let v = t
        .stack
        .platform
        .registry
        .read()
        .version("churn", after)
        .await
        .unwrap();
    assert!(v.mlflow_source().is_none() && v.mlflow_folder() == Some(folder));
}
