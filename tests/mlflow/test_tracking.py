"""Seed 003 step 1: experiments, runs, params, metrics with steps, tags; and run search."""

import time

import mlflow
import pytest
from mlflow.exceptions import MlflowException


def test_experiment_run_params_metrics_tags(client, unique):
    exp_name = f"my-first-experiment-{unique}"
    assert mlflow.get_experiment_by_name(exp_name) is None
    experiment = mlflow.set_experiment(exp_name)
    assert experiment.name == exp_name
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}"
    assert experiment.lifecycle_stage == "active"

    with mlflow.start_run(run_name="random-forest-baseline") as run:
        mlflow.log_param("n_estimators", 100)
        mlflow.log_params({"max_depth": 10, "model_type": "RandomForest"})
        for step, loss in enumerate([1.0, 0.5, 0.25]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"accuracy": 0.91, "auc": 0.95})
        mlflow.set_tag("team", "growth")
        mlflow.set_tags({"stage": "dev"})
        run_id = run.info.run_id

    fetched = client.get_run(run_id)
    assert fetched.info.run_name == "random-forest-baseline"
    assert fetched.info.status == "FINISHED"
    assert fetched.info.end_time >= fetched.info.start_time
    assert fetched.info.experiment_id == experiment.experiment_id
    assert fetched.data.params == {"n_estimators": "100", "max_depth": "10", "model_type": "RandomForest"}
    # The latest point of each metric: loss at its highest step.
    assert fetched.data.metrics == {"loss": 0.25, "accuracy": 0.91, "auc": 0.95}
    assert fetched.data.tags["team"] == "growth"
    assert fetched.data.tags["stage"] == "dev"
    assert fetched.data.tags["mlflow.runName"] == "random-forest-baseline"

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert all(m.timestamp > 0 for m in history)

    client.delete_tag(run_id, "stage")
    assert "stage" not in client.get_run(run_id).data.tags

    found = client.get_experiment_by_name(exp_name)
    assert found.experiment_id == experiment.experiment_id
    names = [e.name for e in client.search_experiments()]
    assert exp_name in names and "Default" in names


def test_artifacts_round_trip(client, unique, tmp_path):
    mlflow.set_experiment(f"artifacts-{unique}")
    notes = tmp_path / "notes.txt"
    notes.write_text("feature notes: tenure, monthly_charges\n")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(notes))
        mlflow.log_dict({"a": 1}, "config/params.json")
    listed = {(f.path, f.is_dir) for f in client.list_artifacts(run.info.run_id)}
    assert listed == {("notes.txt", False), ("config", True)}
    back = client.download_artifacts(run.info.run_id, "notes.txt", str(tmp_path / "out"))
    assert open(back).read() == notes.read_text()


def test_param_cannot_change(unique):
    mlflow.set_experiment(f"params-{unique}")
    with mlflow.start_run():
        mlflow.log_param("x", "1")
        mlflow.log_param("x", "1")  # the same value again is fine
        with pytest.raises(MlflowException) as err:
            mlflow.log_param("x", "2")
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_filter_and_order(client, unique):
    experiment = mlflow.set_experiment(f"search-{unique}")
    for i, (auc, depth) in enumerate([(0.70, "3"), (0.90, "5"), (0.85, "5"), (0.95, "7")]):
        with mlflow.start_run(run_name=f"r{i}"):
            mlflow.log_param("depth", depth)
            mlflow.log_metric("auc", auc)
            mlflow.set_tag("team", "growth" if i % 2 else "risk")
    ids = [experiment.experiment_id]

    best_first = client.search_runs(ids, order_by=["metrics.auc DESC"])
    assert [r.data.metrics["auc"] for r in best_first] == [0.95, 0.90, 0.85, 0.70]

    runs = client.search_runs(ids, "metrics.auc > 0.8 and params.depth = '5'", order_by=["metrics.auc ASC"])
    assert [r.info.run_name for r in runs] == ["r2", "r1"]

    runs = client.search_runs(ids, "tags.team = 'growth' and attributes.status = 'FINISHED'")
    assert sorted(r.info.run_name for r in runs) == ["r1", "r3"]

    runs = client.search_runs(ids, "attributes.run_name = 'r0'")
    assert [r.data.params["depth"] for r in runs] == ["3"]

    # Paging: two pages of two, in the same order as one page of four.
    page1 = client.search_runs(ids, order_by=["metrics.auc DESC"], max_results=2)
    page2 = client.search_runs(ids, order_by=["metrics.auc DESC"], max_results=2, page_token=page1.token)
    assert [r.data.metrics["auc"] for r in list(page1) + list(page2)] == [0.95, 0.90, 0.85, 0.70]

    frame = mlflow.search_runs([experiment.experiment_id], filter_string="metrics.auc >= 0.9")
    assert sorted(frame["metrics.auc"]) == [0.90, 0.95]

    with pytest.raises(MlflowException) as err:
        client.search_runs(ids, "metrics.auc >")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_and_restore_run(client, unique):
    experiment = mlflow.set_experiment(f"lifecycle-{unique}")
    with mlflow.start_run() as run:
        pass
    client.delete_run(run.info.run_id)
    assert client.search_runs([experiment.experiment_id]) == []
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run.info.run_id)
    assert len(client.search_runs([experiment.experiment_id])) == 1


def test_server_health_and_version_answer_as_mlflow(tracking_uri):
    """What load balancers and deployment scripts probe on an MLflow server."""
    import urllib.request

    with urllib.request.urlopen(f"{tracking_uri}/health", timeout=10) as r:
        assert (r.status, r.read()) == (200, b"OK")
    with urllib.request.urlopen(f"{tracking_uri}/version", timeout=10) as r:
        assert r.read().decode() == mlflow.__version__
