"""Every pipeline run is a tracking run: the training block's params and metrics are visible
to the MLflow client in the experiment named after the pipeline."""

import json
import os
import time
import urllib.request

from mlflow.tracking import MlflowClient


def http(method, path, body=None):
    req = urllib.request.Request(
        os.environ["IRONMAGE_URL"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def test_pipeline_run_is_a_tracking_run():
    run_id = http("POST", "/api/pipelines/demo_mlops/runs", {"variables": {"rows": 400}})["run_id"]
    deadline = time.time() + 120
    while (status := http("GET", f"/api/runs/{run_id}")["status"]) in ("queued", "running"):
        assert time.time() < deadline, f"run {run_id} did not end"
        time.sleep(0.2)
    assert status == "success"

    client = MlflowClient()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "demo_mlops"
    assert run.data.params["n_estimators"] == "100"
    assert run.data.params["var.rows"] == "400"
    assert 0.5 <= run.data.metrics["auc_score"] <= 1.0
    assert 0.0 <= run.data.metrics["accuracy"] <= 1.0
    assert run.data.tags["ironmage.pipeline"] == "demo_mlops"
    # Seed 002 finds runs by the data they trained on.
    summary = http("GET", f"/api/runs/{run_id}")["summary"]
    assert run.data.params["dataset_hash"] == summary["data_hash"]
    assert run.data.params["dataset_version"] == summary["data_version"]
    by_data = client.search_runs(
        [run.info.experiment_id], f"params.dataset_hash = '{summary['data_hash']}'"
    )
    assert run_id in [r.info.run_id for r in by_data]

    experiment = client.get_experiment_by_name("demo_mlops")
    found = client.search_runs([experiment.experiment_id], "metrics.auc_score > 0.5", order_by=["metrics.auc_score DESC"])
    assert run_id in [r.info.run_id for r in found]
