"""The same MLflow client script against several tracking servers, timed per operation.

Per iteration: create a run, log 100 metrics (one call each), register a model version from
the run, transition it to Production (archiving the previous one). Usage:
    python client_bench.py N name=url [name=url ...]
Prints one JSON line per server: milliseconds per operation (median over iterations and
mean over them), and the total time.
"""

import json
import statistics
import sys
import time
import uuid

from mlflow.tracking import MlflowClient


def bench(url, iterations):
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    exp = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    model = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(model)
    times = {"create_run": [], "log_metric": [], "register_version": [], "transition": []}
    started = time.perf_counter()
    for i in range(iterations):
        t = time.perf_counter()
        run = client.create_run(exp)
        times["create_run"].append(time.perf_counter() - t)
        run_id = run.info.run_id
        for step in range(100):
            t = time.perf_counter()
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
            times["log_metric"].append(time.perf_counter() - t)
        t = time.perf_counter()
        version = client.create_model_version(model, f"runs:/{run_id}/model", run_id)
        times["register_version"].append(time.perf_counter() - t)
        t = time.perf_counter()
        client.transition_model_version_stage(model, version.version, "Production", archive_existing_versions=True)
        times["transition"].append(time.perf_counter() - t)
        client.set_terminated(run_id)
    total = time.perf_counter() - started
    # Check the work was done, so a fast wrong answer does not count.
    assert len(client.get_metric_history(run_id, "loss")) == 100
    prod = client.get_latest_versions(model, stages=["Production"])
    assert [v.version for v in prod] == [str(iterations)], prod
    return {
        op: {"median_ms": statistics.median(v) * 1e3, "mean_ms": statistics.fmean(v) * 1e3, "calls": len(v)}
        for op, v in times.items()
    } | {"total_s": total, "iterations": iterations}


def main():
    iterations = int(sys.argv[1])
    for arg in sys.argv[2:]:
        name, url = arg.split("=", 1)
        bench(url, 1)  # warm-up: connections, caches, first-call costs
        print(json.dumps({"server": name, "url": url} | bench(url, iterations)), flush=True)


if __name__ == "__main__":
    main()
