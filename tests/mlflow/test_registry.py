"""Seed 003 steps 2-5: logging models, versions, stages with archive-on-promote, aliases,
loading by models:/ URIs, registry metadata; and MLflow's error codes."""

import json
import os
import time
import urllib.error
import urllib.request

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException, RestException

from conftest import train


def log_version(data, name, n_estimators, run_name):
    """Train, log and register one version; return (model, run id)."""
    with mlflow.start_run(run_name=run_name) as run:
        model = train(data, n_estimators)
        _, x_test, _, y_test = data
        mlflow.log_params({"n_estimators": n_estimators, "max_depth": 6})
        mlflow.log_metric("accuracy", float((model.predict(x_test) == y_test).mean()))
        # skops (3.17's default) refuses tree models without trusted types; seeds use pickle.
        mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name, serialization_format="cloudpickle"
        )
    return model, run.info.run_id


def test_log_model_versions_stages_aliases(client, unique, data):
    _, x_test, _, _ = data
    name = f"sentiment-classifier-{unique}"
    mlflow.set_experiment(f"model-registry-example-{unique}")
    model_v1, run1 = log_version(data, name, 20, "register-version-1")
    model_v2, run2 = log_version(data, name, 40, "register-version-2")
    expected_v1, expected_v2 = model_v1.predict_proba(x_test), model_v2.predict_proba(x_test)

    # Step 3: versions numbered per model, each linked to its run.
    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    assert [(v.version, v.run_id, v.current_stage) for v in versions] == [
        ("1", run1, "None"),
        ("2", run2, "None"),
    ]
    assert all(v.source.startswith("models:/m-") for v in versions)
    v1 = client.get_model_version(name, "1")
    assert v1.status == "READY" and v1.run_id == run1
    # ironmage's gates and comparisons see the run's metrics and params on the version.
    with urllib.request.urlopen(f"{mlflow.get_tracking_uri()}/api/models/{name}") as answer:
        native = {v["version"]: v for v in json.load(answer)["versions"]}
    assert native[1]["hyperparameters"]["n_estimators"] == 20
    assert native[2]["hyperparameters"]["n_estimators"] == 40
    assert 0.0 <= native[1]["metrics"]["accuracy"] <= 1.0

    # Load by run, by version number and latest: predictions match the originals.
    by_run = mlflow.sklearn.load_model(f"runs:/{run1}/model")
    np.testing.assert_array_equal(by_run.predict_proba(x_test), expected_v1)
    np.testing.assert_array_equal(
        mlflow.sklearn.load_model(f"models:/{name}/1").predict_proba(x_test), expected_v1
    )
    np.testing.assert_array_equal(
        mlflow.sklearn.load_model(f"models:/{name}/latest").predict_proba(x_test), expected_v2
    )

    # Step 4/5: stages. v2 to Staging, v1 to Production, then v2 promoted with archiving.
    assert client.transition_model_version_stage(name, 2, "Staging").current_stage == "Staging"
    assert client.transition_model_version_stage(name, 1, "Production").current_stage == "Production"
    latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert latest == {"Staging": "2", "Production": "1"}
    promoted = client.transition_model_version_stage(name, 2, "Production", archive_existing_versions=True)
    assert promoted.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["2"]
    assert [v.version for v in client.get_latest_versions(name, stages=["Archived"])] == ["1"]
    # The GET form repeats `stages` once per stage, as MLflow's REST API takes it.
    url = (
        f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/registered-models/get-latest-versions"
        f"?name={name}&stages=Production&stages=Archived"
    )
    with urllib.request.urlopen(url) as answer:
        got = sorted((v["current_stage"], v["version"]) for v in json.load(answer)["model_versions"])
    assert got == [("Archived", "1"), ("Production", "2")]

    # Aliases: champion and challenger, each on one version.
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "challenger", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_model_version(name, "2").aliases == ["champion"]
    aliases = client.get_registered_model(name).aliases
    assert aliases == {"champion": "2", "challenger": "1"}

    # Loading by stage and by alias gives the promoted model, predicting as the original.
    production = mlflow.pyfunc.load_model(f"models:/{name}/Production")
    np.testing.assert_array_equal(production.predict(x_test), model_v2.predict(x_test))
    champion = mlflow.sklearn.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(champion.predict_proba(x_test), expected_v2)

    # Moving an alias, deleting one.
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "1"}


def test_registry_metadata(client, unique, data):
    name = f"meta-{unique}"
    client.create_registered_model(name, tags={"domain": "churn"}, description="first")
    mlflow.set_experiment(f"meta-{unique}")
    log_version(data, name, 10, "meta")
    model = client.get_registered_model(name)
    assert model.description == "first"
    assert model.tags == {"domain": "churn"}
    client.update_registered_model(name, description="Customer churn classifier")
    client.set_registered_model_tag(name, "owner", "ml-team")
    client.delete_registered_model_tag(name, "domain")
    model = client.get_registered_model(name)
    assert model.description == "Customer churn classifier"
    assert model.tags == {"owner": "ml-team"}

    client.update_model_version(name, "1", description="RF baseline")
    client.set_model_version_tag(name, "1", "validated", "true")
    version = client.get_model_version(name, "1")
    assert version.description == "RF baseline"
    assert version.tags == {"validated": "true"}
    client.delete_model_version_tag(name, "1", "validated")
    assert client.get_model_version(name, "1").tags == {}

    found = [m.name for m in client.search_registered_models(f"name = '{name}'")]
    assert found == [name]
    assert name in [m.name for m in client.search_registered_models()]
    # A second create of the same name is refused with MLflow's code.
    with pytest.raises(RestException) as err:
        client.create_registered_model(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def error_code(call):
    with pytest.raises(MlflowException) as err:
        call()
    return err.value.error_code, str(err.value)


def test_errors_have_mlflow_codes(client, unique, data):
    name = f"errors-{unique}"
    mlflow.set_experiment(f"errors-{unique}")
    log_version(data, name, 5, "errors")

    code, text = error_code(lambda: client.get_registered_model(f"nope-{unique}"))
    assert code == "RESOURCE_DOES_NOT_EXIST" and f"nope-{unique}" in text
    code, text = error_code(lambda: client.get_model_version(name, "99"))
    assert code == "RESOURCE_DOES_NOT_EXIST" and "version=99" in text
    code, text = error_code(lambda: client.transition_model_version_stage(name, 1, "Bogus"))
    assert code == "INVALID_PARAMETER_VALUE" and "Bogus" in text
    code, _ = error_code(lambda: client.transition_model_version_stage(name, 7, "Staging"))
    assert code == "RESOURCE_DOES_NOT_EXIST"
    code, text = error_code(lambda: client.get_model_version_by_alias(name, "nope"))
    assert code == "INVALID_PARAMETER_VALUE" and "nope" in text
    code, _ = error_code(lambda: client.set_registered_model_alias(name, "latest", "1"))
    assert code == "INVALID_PARAMETER_VALUE"
    code, _ = error_code(lambda: client.get_run("0123456789abcdef0123456789abcdef"))
    assert code == "RESOURCE_DOES_NOT_EXIST"
    code, _ = error_code(lambda: client.create_experiment(f"errors-{unique}"))
    assert code == "RESOURCE_ALREADY_EXISTS"
    code, _ = error_code(lambda: client.create_registered_model("bad name/with slash"))
    assert code == "INVALID_PARAMETER_VALUE"
    # Nothing was left half-written by the failures.
    assert [v.version for v in client.search_model_versions(f"name='{name}'")] == ["1"]


def test_delete_model_version(client, unique, data):
    name = f"delete-{unique}"
    mlflow.set_experiment(f"delete-{unique}")
    log_version(data, name, 5, "delete-1")
    log_version(data, name, 5, "delete-2")
    client.transition_model_version_stage(name, 2, "Production")
    # The version serving Production stays; the other one goes, and its number is not reused.
    code, text = error_code(lambda: client.delete_model_version(name, "2"))
    assert code == "INVALID_STATE" and "Production" in text
    client.delete_model_version(name, "1")
    code, _ = error_code(lambda: client.get_model_version(name, "1"))
    assert code == "RESOURCE_DOES_NOT_EXIST"
    assert [v.version for v in client.search_model_versions(f"name='{name}'")] == ["2"]
    code, _ = error_code(lambda: client.delete_model_version(name, "1"))
    assert code == "RESOURCE_DOES_NOT_EXIST"
    log_version(data, name, 5, "delete-3")
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    assert versions == [2, 3]


def test_mlflow_version_without_signature_is_refused_and_the_last_good_one_serves(client, unique, data):
    """The prediction role serves model "churn": an MLflow-logged version with no signature
    promoted there cannot be checked, so it is reported as not loadable (no crash, no retry
    loop) and the previous version keeps answering (keep-last policy)."""
    predict_url = os.environ["IRONMAGE_PREDICT_URL"]
    mlflow.set_experiment(f"churn-mlflow-{unique}")
    # Registering into "churn" may add to versions made by other tests; take the new one.
    before = {v.version for v in client.search_model_versions("name='churn'")}
    log_version(data, "churn", 5, "churn-mlflow")
    (new,) = {v.version for v in client.search_model_versions("name='churn'")} - before
    client.transition_model_version_stage("churn", new, "Production")
    req = urllib.request.Request(f"{predict_url}/reload", method="POST")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(req, timeout=10)
    assert answer.value.code == 503
    reloaded = json.load(answer.value)
    assert reloaded["status"] == "error", reloaded
    assert "without a signature" in reloaded["message"]
    health = json.load(urllib.request.urlopen(f"{predict_url}/health", timeout=10))
    assert "without a signature" in (health["last_error"] or ""), health


def test_mlflow_logged_model_is_served_by_the_prediction_service(client, unique, data):
    """A scikit-learn model logged with an input example is served through Python workers:
    /models/{name}/predict answers what the model predicts."""
    predict_url = os.environ["IRONMAGE_PREDICT_URL"]
    name = f"served-{unique}"
    mlflow.set_experiment(f"served-{unique}")
    _, x_test, _, _ = data
    model = train(data, 10)
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name,
            # A frame, so the signature names columns (x0…x19) the service checks requests against.
            input_example=pd.DataFrame(x_test[:2], columns=[f"x{i}" for i in range(x_test.shape[1])]),
            serialization_format="cloudpickle",
        )
    client.transition_model_version_stage(name, 1, "Production")
    deadline = time.time() + 90
    while True:
        try:
            info = json.load(urllib.request.urlopen(f"{predict_url}/models/{name}", timeout=10))
            break
        except urllib.error.HTTPError:
            assert time.time() < deadline, f"{name} never loaded"
            time.sleep(0.3)
    assert info["flavor"] == "python_function" and info["model_stage"] == "Production", info
    body = json.dumps({"data": x_test[:5].tolist()}).encode()
    req = urllib.request.Request(
        f"{predict_url}/models/{name}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    answer = json.load(urllib.request.urlopen(req, timeout=30))
    assert [p["prediction"] for p in answer["predictions"]] == model.predict(x_test[:5]).tolist()
