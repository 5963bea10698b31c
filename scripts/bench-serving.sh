#!/usr/bin/env bash
# The prediction service under load, side by side in one run on this machine (wrk, 16
# connections, 2 threads, prediction logging on):
#   1. the ceiling: a bare actix handler parsing the same row (crates/prediction/examples);
#   2. ironmage /predict on the demo forest (native), while 10 promotions swap versions;
#   3. ironmage serving an ONNX forest (skl2onnx) and a LightGBM booster, natively;
#   4. ironmage serving a scikit-learn pipeline (mlflow pyfunc) through its Python workers
#      (its default pool: one worker per two cores);
#   5. `mlflow models serve` on that same pyfunc model, with 1 and with 2 workers (the ratio
#      is taken against the faster of the two).
# The models are trained and logged with the official mlflow client
# (crates/ironmage/tests/python/log_models.py). Prints throughput, p50/p99 and ratios, memory
# of each loaded model and of the process, and writes bench/serving/RESULTS.md.
# Usage: bash scripts/bench-serving.sh [SECONDS]   (default 10 per run)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/mlflow-common.sh
source scripts/mlflow-common.sh
secs=${1:-10}

command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
mlflow_venv
echo "building (release)…"
cargo build --quiet --locked --release -p ironmage
cargo build --quiet --locked --release -p ironmage-prediction --example bare_ceiling
py="$PWD/$MLFLOW_VENV/bin/python"
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}" "${IRONMAGE_PID:-}"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

start_ironmage target/release/ironmage "$dir/ironmage"
web=$IRONMAGE_URL
predict=$IRONMAGE_PREDICT_URL
ceiling_port=$(free_port)
target/release/examples/bare_ceiling "127.0.0.1:$ceiling_port" >"$dir/ceiling.log" 2>&1 &
pids+=($!)
ceiling="http://127.0.0.1:$ceiling_port"

run_demo() {
  local id
  id=$(curl -sf -X POST "$web/api/pipelines/demo_mlops/runs" -H 'Content-Type: application/json' \
    -d "{\"variables\": {\"seed\": $1}}" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
  until curl -sf "$web/api/runs/$id" | "$py" -c 'import json,sys; sys.exit(json.load(sys.stdin)["status"] in ("queued","running"))'; do
    sleep 0.2
  done
}
echo "training the demo forest twice (two versions to swap between)…"
run_demo 42
run_demo 7
echo "logging scikit-learn, ONNX, LightGBM and XGBoost models with the mlflow client…"
MLFLOW_DISABLE_TELEMETRY=true GIT_PYTHON_REFRESH=quiet "$py" crates/ironmage/tests/python/log_models.py \
  "$web" "$dir/expected.json" >"$dir/log_models.log" 2>&1
for m in sk-pipeline sk-onnx lgb-booster; do
  until curl -sf "$predict/models/$m" >/dev/null; do sleep 0.3; done
done

# The same pyfunc model under `mlflow models serve`.
MLFLOW_TRACKING_URI="$web" "$MLFLOW_VENV/bin/mlflow" artifacts download -u models:/sk-pipeline/1 \
  -d "$dir/sk-pipeline" >/dev/null 2>&1
declare -A mlflow_ports
for w in 1 2; do
  mlflow_ports[$w]=$(free_port)
  MLFLOW_DISABLE_TELEMETRY=true PATH="$PWD/$MLFLOW_VENV/bin:$PATH" "$MLFLOW_VENV/bin/mlflow" models serve \
    -m "$dir/sk-pipeline" --env-manager local --host 127.0.0.1 -p "${mlflow_ports[$w]}" -w "$w" \
    >"$dir/mlflow-serve-$w.log" 2>&1 &
  pids+=($!)
  until curl -sf "http://127.0.0.1:${mlflow_ports[$w]}/ping" >/dev/null; do sleep 0.3; done
done

# Request bodies, from the logged test rows.
"$py" - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
e = json.load(open(f"{d}/expected.json"))
churn = {"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3,
         "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8,
         "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}
bodies = {
    "churn": churn,
    "onnx": [e["sk-onnx"]["matrix"][0]],
    "lgb": e["lgb-booster"]["rows"][0],
    "sk": e["sk-pipeline"]["rows"][0],
    "mlflow": {"dataframe_records": [e["sk-pipeline"]["rows"][0]]},
}
for name, body in bodies.items():
    text = json.dumps(body).replace("\\", "\\\\").replace('"', '\\"')
    open(f"{d}/{name}.lua", "w").write(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = "{text}"\n')
PY

results="$dir/results.txt"
: >"$results"
bench() { # name url lua
  echo "load: $1 ($secs s, 16 connections)…"
  wrk -t2 -c16 -d"${secs}s" --latency -s "$dir/$3.lua" "$2" >"$dir/$1.wrk" 2>&1
  "$py" - "$1" "$dir/$1.wrk" >>"$results" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p = {q: ms(*re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", text).groups()) for q in ("50", "99")}
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
print(f"{name}\t{rps:.0f}\t{p['50']:.3f}\t{p['99']:.3f}\t{bad.group(1) if bad else 0}\t{errors.group(1) if errors else ''}")
PY
}

bench ceiling "$ceiling/predict" churn
# Ten promotions, alternating the two demo versions, while the forest is under load.
(
  sleep 1
  for i in $(seq 1 10); do
    # The newest demo version is in Production after the two runs: start with the other one.
    v=$(( (i + 1) % 2 + 1 ))
    curl -sf -X POST "$web/api/models/churn/versions/$v/transition" -H 'Content-Type: application/json' \
      -d "{\"stage\": \"production\", \"reason\": \"bench swap $i\"}" >/dev/null || echo "promotion $i refused"
    sleep "$(awk "BEGIN {print $secs / 12}")"
  done
) &
promoter=$!
bench native-forest "$predict/predict" churn
wait "$promoter"
bench onnx-forest "$predict/models/sk-onnx/predict" onnx
bench lightgbm "$predict/models/lgb-booster/predict" lgb
bench pyfunc-workers "$predict/models/sk-pipeline/predict" sk
bench mlflow-serve-1w "http://127.0.0.1:${mlflow_ports[1]}/invocations" mlflow
bench mlflow-serve-2w "http://127.0.0.1:${mlflow_ports[2]}/invocations" mlflow

curl -sf "$predict/models" >"$dir/models.json"
curl -sf "$predict/health" >"$dir/health.json"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$IRONMAGE_PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$IRONMAGE_PID/status")

mkdir -p bench/serving
"$py" - "$results" "$dir/models.json" "$dir/health.json" "$rss" "$hwm" "$secs" <<'PY' | tee bench/serving/RESULTS.md
import json, platform, subprocess, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
r = {row[0]: row for row in rows}
models = json.load(open(sys.argv[2]))["models"]
health = json.load(open(sys.argv[3]))
ceiling = float(r["ceiling"][1])
print("# Serving under load: ironmage next to a bare handler and `mlflow models serve`\n")
print(f"`bash scripts/bench-serving.sh {sys.argv[6]}`: wrk -t2 -c16 -d{sys.argv[6]}s per line, one run, "
      f"release build, prediction logging on (embedded SQLite). Machine: {platform.machine()}, "
      f"{subprocess.getoutput('nproc')} cores, shared by server and load generator.\n")
print("| target | req/s | p50 ms | p99 ms | non-2xx | × ceiling |")
print("|---|---|---|---|---|---|")
for name in ["ceiling", "native-forest", "onnx-forest", "lightgbm", "pyfunc-workers", "mlflow-serve-1w", "mlflow-serve-2w"]:
    row = r[name]
    print(f"| {name} | {row[1]} | {row[2]} | {row[3]} | {row[4]} | {float(row[1]) / ceiling:.2f} |")
mlflow_best = max(float(r["mlflow-serve-1w"][1]), float(r["mlflow-serve-2w"][1]))
ratio = float(r["pyfunc-workers"][1]) / mlflow_best
print(f"\nnative forest / ceiling: **{float(r['native-forest'][1]) / ceiling:.2f}** (target ≥ 0.6, p99 < 5 ms); "
      f"pyfunc through workers / `mlflow models serve` at its faster worker count: **{ratio:.1f}×** (target ≥ 10×). "
      f"The native-forest line ran while 10 promotions swapped versions: its non-2xx count is the failed requests.\n")
print("| model | flavor | version | estimated memory of the loaded version (MiB) |")
print("|---|---|---|---|")
for m in models:
    mem = (m.get("memory_bytes") or 0) / 2**20
    print(f"| {m['name']} | {m['flavor']} | {m['version']} | {mem:.1f} |")
log = health["prediction_log"]
print(f"\nProcess (all roles, five models, the default Python pool of one worker per two cores): RSS {int(sys.argv[4]) / 1024:.0f} MiB, peak {int(sys.argv[5]) / 1024:.0f} MiB. "
      f"Prediction log: {log['written']} written, {log['dropped']} dropped (queue full), {log['pending']} pending.")
PY
