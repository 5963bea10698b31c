"""Versions that ironmage's own pipelines train load with `mlflow.pyfunc.load_model`: the
register block writes an MLflow model folder (python_function flavor, a numpy scorer shipped
in the folder) beside each version, and the loaded model answers what ironmage's prediction
service answers, for every kind of model the pipelines train."""

import json
import math
import os
import random
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def call(base, method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        # Keep the status for callers that retry, and show the answer's body.
        e.msg = f"{e.msg}: {e.read().decode()}"
        raise


def web(method, path, body=None):
    return call(os.environ["IRONMAGE_URL"], method, path, body)


def run_pipeline(name, variables=None):
    run_id = web("POST", f"/api/pipelines/{name}/runs", {"variables": variables or {}})["run_id"]
    deadline = time.time() + 300
    while (status := web("GET", f"/api/runs/{run_id}")["status"]) in ("queued", "running"):
        assert time.time() < deadline, f"run {run_id} of {name} did not end"
        time.sleep(0.3)
    assert status == "success", web("GET", f"/api/runs/{run_id}")
    return run_id


def service_answers(model, version, rows):
    """What the prediction service answers for `rows`, from the given version. A model
    registered just now is served within a poll interval: retry until then."""
    body = {"data": rows, "version": int(version)}
    deadline = time.time() + 60
    while True:
        try:
            url = os.environ["IRONMAGE_PREDICT_URL"]
            return call(url, "POST", f"/models/{model}/predict", body)["predictions"]
        except urllib.error.HTTPError as e:
            if e.code != 404 or time.time() > deadline:
                raise AssertionError(f"{e.code}: {e.msg}") from None
            time.sleep(0.5)


def version_of_run(client, model, run_id):
    found = [v for v in client.search_model_versions(f"name='{model}'") if v.run_id == run_id]
    assert len(found) == 1, f"{model}: versions of run {run_id}: {found}"
    return found[0]


def assert_same_answers(model_uri, version, model, rows, classifier):
    """The pyfunc model's predictions equal the service's, for the same rows."""
    loaded = mlflow.pyfunc.load_model(model_uri)
    frame = pd.DataFrame(rows)
    predicted = loaded.predict(frame)
    expected = service_answers(model, version, rows)
    assert len(predicted) == len(expected) == len(rows)
    scores = loaded.get_raw_model().score(frame)
    for i, (got, want, score) in enumerate(zip(predicted, expected, scores)):
        if classifier:
            assert int(got) == want["prediction"], f"{model_uri} row {i}: {rows[i]}"
            positive = want["probability"][model_class(want)]
            assert math.isclose(score, positive, rel_tol=0, abs_tol=1e-9), (i, score, positive)
        else:
            want = want["prediction"]
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9), (i, got, want)
    return loaded


def model_class(answer):
    # The positive class is the one whose name does not start with no_ (churn, no_churn).
    return next(k for k in answer["probability"] if not k.startswith("no_"))


def churn_rows(n, seed):
    rng = random.Random(seed)
    # Few decimals: JSON and Python read them to the same float.
    return [
        {
            "account_age": float(rng.randint(1, 72)),
            "monthly_charges": round(rng.uniform(20, 120), 2),
            "total_charges": round(rng.uniform(20, 8000), 2),
            "num_services": float(rng.randint(1, 8)),
            "customer_service_calls": float(rng.randint(0, 9)),
            "contract_length": float(rng.choice([1, 12, 24])),
            "payment_method_score": round(rng.random(), 3),
            "usage_frequency": round(rng.random(), 3),
            "support_tickets": float(rng.randint(0, 6)),
            "satisfaction_score": round(rng.random(), 3),
        }
        for _ in range(n)
    ]


def sales_rows(n, seed):
    rng = random.Random(seed)
    # Missing and unseen categories too: they give all-zero indicators.
    types = ["a", "b", "c", "d", None, "z"]
    assortments = ["basic", "extra", "extended", None]
    return [
        {
            "Store": float(rng.randint(1, 1115)),
            "DayOfWeek": float(rng.randint(1, 7)),
            "Promo": float(rng.randint(0, 1)),
            "StateHoliday": float(rng.randint(0, 1)),
            "SchoolHoliday": float(rng.randint(0, 1)),
            "Month": float(rng.randint(1, 12)),
            "StoreType": types[i % len(types)],
            "Assortment": assortments[i % len(assortments)],
            "CompetitionDistance": round(rng.uniform(20, 40000), 1),
        }
        for i in range(n)
    ]


def write_pipeline(name, text):
    project = os.environ.get("IRONMAGE_PROJECT_DIR")
    assert project, "scripts/mlflow-tests.sh sets IRONMAGE_PROJECT_DIR to ironmage's project"
    folder = Path(project) / "pipelines" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.yaml").write_text(text)


def test_demo_forest_loads_from_the_registry_and_answers_as_the_service():
    client = MlflowClient()
    run_id = run_pipeline("demo_mlops", {"rows": 600, "min_auc": 0.5})
    version = version_of_run(client, "churn", run_id)
    # The deployment gate put it in Production; its files are the run's MLflow model folder.
    assert version.current_stage == "Production"
    assert version.source == f"runs:/{run_id}/model"
    uri = client.get_model_version_download_uri("churn", version.version)
    run = client.get_run(run_id)
    assert uri == f"{run.info.artifact_uri}/model"
    listed = sorted(f.path for f in client.list_artifacts(run_id, "model"))
    assert listed == [
        "model/MLmodel",
        "model/code",
        "model/conda.yaml",
        "model/model.json",
        "model/python_env.yaml",
        "model/requirements.txt",
    ]

    rows = churn_rows(25, seed=1)
    loaded = assert_same_answers("models:/churn/Production", version.version, "churn", rows, True)
    assert loaded.metadata.run_id == run_id
    assert loaded.metadata.get_input_schema().input_names() == list(rows[0])
    by_number = assert_same_answers(
        f"models:/churn/{version.version}", version.version, "churn", rows, True
    )
    assert list(by_number.predict(pd.DataFrame(rows))) == list(loaded.predict(pd.DataFrame(rows)))
    by_run = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert list(by_run.predict(pd.DataFrame(rows))) == list(loaded.predict(pd.DataFrame(rows)))
    # The signature's types are enforced as for any MLflow model: a missing column is named.
    with pytest.raises(MlflowException, match="satisfaction_score"):
        loaded.predict(pd.DataFrame(rows).drop(columns=["satisfaction_score"]))


CHURN_PIPELINE = """
name: {name}
blocks:
  - name: load
    kind: synthetic_churn
    config: {{rows: 800, seed: 5, missing_rate: 0.05}}
  - name: split
    kind: split
    upstream: [load]
    config: {{test_size: 0.25, seed: 3}}
  - name: impute
    kind: impute
    upstream: [split]
    config: {{strategy: mean}}
  - name: scale
    kind: scale
    upstream: [impute]
    config: {{columns: [monthly_charges, total_charges, account_age]}}
  - name: boosting
    kind: gradient_boosting_classifier
    upstream: [scale]
    config: {{max_iter: 30, random_state: 1, threshold: 0.4}}
  - name: logistic
    kind: logistic_regression
    upstream: [scale]
    config: {{l2: 0.5}}
  - name: tree
    kind: decision_tree
    upstream: [scale]
    config: {{task: classifier, max_depth: 6}}
  - name: register_boosting
    kind: register_model
    upstream: [boosting]
    config: {{model: {name}_boosting}}
  - name: register_logistic
    kind: register_model
    upstream: [logistic]
    config: {{model: {name}_logistic}}
  - name: register_tree
    kind: register_model
    upstream: [tree]
    config: {{model: {name}_tree}}
"""

SALES_PIPELINE = """
name: {name}
blocks:
  - name: load
    kind: synthetic_sales
    config: {{rows: 1500, seed: 9}}
  - name: split
    kind: split
    upstream: [load]
    config: {{test_size: 0.2, seed: 7}}
  - name: impute
    kind: impute
    upstream: [split]
    config: {{strategy: constant, value: -1.5, columns: [CompetitionDistance]}}
  - name: scale
    kind: scale
    upstream: [impute]
    config: {{columns: [CompetitionDistance, Month]}}
  - name: encode
    kind: one_hot
    upstream: [scale]
    config: {{columns: [StoreType, Assortment]}}
  - name: rename
    kind: rename_columns
    upstream: [encode]
    config: {{columns: {{CompetitionDistance: distance, "StoreType=a": type_a}}}}
  - name: select
    kind: select_columns
    upstream: [rename]
    config:
      columns: [Promo, distance, DayOfWeek, type_a, "StoreType=b", "StoreType=c",
                "Assortment=basic", "Assortment=extra", Month, SchoolHoliday]
  - name: boosting
    kind: gradient_boosting_regressor
    upstream: [select]
    config: {{max_iter: 40, random_state: 3}}
  - name: linear
    kind: linear_regression
    upstream: [select]
    config: {{l2: 0.1}}
  - name: forest
    kind: random_forest_regressor
    upstream: [select]
    config: {{n_estimators: 20, max_depth: 8, random_state: 5}}
  - name: register_boosting
    kind: register_model
    upstream: [boosting]
    config: {{model: {name}_boosting}}
  - name: register_linear
    kind: register_model
    upstream: [linear]
    config: {{model: {name}_linear}}
  - name: register_forest
    kind: register_model
    upstream: [forest]
    config: {{model: {name}_forest}}
"""


@pytest.mark.parametrize(
    "template,rows,classifier,learners",
    [
        (CHURN_PIPELINE, churn_rows(30, seed=2), True, ["boosting", "logistic", "tree"]),
        (SALES_PIPELINE, sales_rows(30, seed=3), False, ["boosting", "linear", "forest"]),
    ],
    ids=["classifiers", "regressors"],
)
def test_every_model_kind_answers_as_the_service(unique, template, rows, classifier, learners):
    name = f"pyfunc_{'churn' if classifier else 'sales'}_{unique}"
    write_pipeline(name, template.format(name=name))
    run_id = run_pipeline(name)
    client = MlflowClient()
    for learner in learners:
        model = f"{name}_{learner}"
        version = version_of_run(client, model, run_id)
        # Several models in one run: one folder each, named after the register block.
        assert version.source == f"runs:/{run_id}/model_register_{learner}"
        uri = f"models:/{model}/{version.version}"
        loaded = assert_same_answers(uri, version.version, model, rows, classifier)
        kind = loaded.metadata.flavors["ironmage"]["model_kind"]
        assert kind == {
            "boosting": "gradient_boosting",
            "logistic": "logistic_regression",
            "tree": "forest_classifier",
            "linear": "linear_regression",
            "forest": "forest_regressor",
        }[learner]
