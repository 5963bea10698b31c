#!/usr/bin/env bash
# The MLflow compatibility suite: the official `mlflow` Python client (pinned) drives an
# embedded `ironmage up` through seed 003's steps 1-5, and every answer is checked.
# Usage: bash scripts/mlflow-tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/mlflow-common.sh
source scripts/mlflow-common.sh

mlflow_venv
cargo build --quiet --locked -p ironmage
dir=$(mktemp -d)
cleanup() {
  if [[ -n "${IRONMAGE_PID:-}" ]]; then
    kill "$IRONMAGE_PID" 2>/dev/null || true
    wait "$IRONMAGE_PID" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
start_ironmage target/debug/ironmage "$dir"
echo "ironmage at $IRONMAGE_URL (log: $dir/ironmage.log)"
status=0
# IRONMAGE_PROJECT_DIR: tests add pipelines of their own to the project ironmage runs.
MLFLOW_TRACKING_URI="$IRONMAGE_URL" IRONMAGE_URL="$IRONMAGE_URL" \
  IRONMAGE_PREDICT_URL="$IRONMAGE_PREDICT_URL" IRONMAGE_PROJECT_DIR="$dir/project" \
  MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
  "$MLFLOW_VENV/bin/python" -m pytest -q -p no:cacheprovider tests/mlflow "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- ironmage log (last 40 lines)"
  tail -n 40 "$dir/ironmage.log"
fi
exit $status
