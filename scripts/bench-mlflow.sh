#!/usr/bin/env bash
# ironmage against `mlflow server` (SQLite backend store, proxied artifacts), driven by the
# same official-client script in one run: create a run, log 100 metrics one call each,
# register a version, transition it; N times. Prints ms per operation and the ratio, and
# writes bench/mlflow/RESULTS.md. ironmage is a release build.
# Usage: bash scripts/bench-mlflow.sh [N]   (default 20)
#        IRONMAGE_BENCH_PROFILE=debug bash scripts/bench-mlflow.sh   (debug build: a lower bound)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/mlflow-common.sh
source scripts/mlflow-common.sh
n=${1:-20}

mlflow_venv
profile=${IRONMAGE_BENCH_PROFILE:-release}
if [[ $profile == release ]]; then
  cargo build --quiet --locked --release -p ironmage
else
  cargo build --quiet --locked -p ironmage
fi
dir=$(mktemp -d)
MLFLOW_PID=
cleanup() {
  for pid in "${IRONMAGE_PID:-}" "$MLFLOW_PID"; do
    if [[ -n "$pid" ]]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}
trap cleanup EXIT

start_ironmage "target/$profile/ironmage" "$dir/ironmage"
mlflow_port=$(free_port)
mkdir -p "$dir/mlflow"
"$MLFLOW_VENV/bin/mlflow" server --host 127.0.0.1 --port "$mlflow_port" \
  --backend-store-uri "sqlite:///$dir/mlflow/mlflow.db" --serve-artifacts \
  --artifacts-destination "$dir/mlflow/artifacts" >"$dir/mlflow/server.log" 2>&1 &
MLFLOW_PID=$!
wait_http "http://127.0.0.1:$mlflow_port/health"

echo "ironmage $IRONMAGE_URL, mlflow server http://127.0.0.1:$mlflow_port, $n iterations"
MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true "$MLFLOW_VENV/bin/python" bench/mlflow/client_bench.py "$n" \
  "ironmage=$IRONMAGE_URL" "mlflow=http://127.0.0.1:$mlflow_port" >"$dir/results.jsonl"

"$MLFLOW_VENV/bin/python" - "$dir/results.jsonl" "$n" "$profile" <<'PY' | tee bench/mlflow/RESULTS.md
import json, platform, subprocess, sys
rows = {r["server"]: r for r in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))}
im, ml = rows["ironmage"], rows["mlflow"]
print("# ironmage vs mlflow server: the same MLflow client script\n")
print(f"`bash scripts/bench-mlflow.sh {sys.argv[2]}`: {sys.argv[2]} iterations of (create run, 100 x log_metric, "
      "create model version, transition to Production), official client mlflow 3.17.2, "
      "`mlflow server` with a SQLite backend store and `--serve-artifacts`; ironmage `up` "
      f"({sys.argv[3]} build, embedded SQLite). Both on loopback, one client, sequential calls. "
      f"Machine: {platform.machine()}, {subprocess.getoutput('nproc')} cores (shared).\n")
print("| operation | calls | ironmage median ms | mlflow median ms | ironmage mean ms | mlflow mean ms | ratio (median) |")
print("|---|---|---|---|---|---|---|")
for op in ["create_run", "log_metric", "register_version", "transition"]:
    a, b = im[op], ml[op]
    print(f"| {op} | {a['calls']} | {a['median_ms']:.2f} | {b['median_ms']:.2f} | {a['mean_ms']:.2f} | {b['mean_ms']:.2f} | {b['median_ms'] / a['median_ms']:.1f}x |")
print(f"| **whole script** | | | | **{im['total_s']:.2f} s** | **{ml['total_s']:.2f} s** | **{ml['total_s'] / im['total_s']:.1f}x** |")
print("\nRatio = mlflow time / ironmage time (higher: ironmage faster). The client's own cost "
      "(Python, HTTP, JSON) is in both columns.")
PY
