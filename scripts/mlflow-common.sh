# Shared by scripts/mlflow-tests.sh and scripts/bench-mlflow.sh (source it; bash only):
# the pinned MLflow client venv, free ports, and an embedded `ironmage up` in a temp folder.

MLFLOW_VERSION=3.17.2
MLFLOW_VENV=.venv-mlflow

# Create the venv with the pinned official client, once; it also holds the libraries the
# serving tests train their models with (scikit-learn, LightGBM, XGBoost, skl2onnx; onnxruntime, which mlflow.onnx needs to log a model),
# and pandas and pyarrow, which Python blocks need (pinned: the Arrow hand-over is tested against them),
# and moto's server, the S3-compatible store the object storage tests put to and get from.
mlflow_venv() {
  if ! "$MLFLOW_VENV/bin/python" -c "import mlflow, sklearn, pytest, lightgbm, xgboost, skl2onnx, onnx, onnxruntime, pandas, pyarrow, moto.server, flask, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
    python3 -m venv "$MLFLOW_VENV"
    "$MLFLOW_VENV/bin/pip" install --quiet "mlflow==$MLFLOW_VERSION" 'scikit-learn==1.9.1' 'pytest==9.2.0' \
      'lightgbm==4.7.0' 'xgboost==3.2.0' 'skl2onnx==1.20.0' 'onnx==1.23.2' 'onnxruntime==1.32.0' \
      'pandas==3.1.2' 'pyarrow==25.0.1' 'moto[server]==5.2.5'
  fi
}

# Print a free TCP port on 127.0.0.1.
free_port() {
  "$MLFLOW_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until URL answers 200, at most 60 s.
wait_http() {
  local url=$1
  for _ in $(seq 1 600); do
    if "$MLFLOW_VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$url', timeout=1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "no answer from $url after 60 s" >&2
  return 1
}

# Start `ironmage up` (binary $1) on free ports in a fresh folder under $2; sets IRONMAGE_URL,
# IRONMAGE_PREDICT_URL and IRONMAGE_PID.
start_ironmage() {
  local bin=$1 dir=$2
  mkdir -p "$dir"
  "$bin" init "$dir/project" >/dev/null
  local web predict sched exec
  web=$(free_port); predict=$(free_port); sched=$(free_port); exec=$(free_port)
  # Models the client registers are served too; pyfunc ones by workers on the venv's Python.
  IRONMAGE_DATA_DIR="$dir/data" IRONMAGE_PROJECT_DIR="$dir/project" \
    IRONMAGE_PYTHON="$PWD/$MLFLOW_VENV/bin/python" IRONMAGE_MODEL_CACHE="$dir/model-cache" \
    "$bin" up --web-addr "127.0.0.1:$web" --predict-addr "127.0.0.1:$predict" \
    --scheduler-health-addr "127.0.0.1:$sched" --executor-health-addr "127.0.0.1:$exec" \
    >"$dir/ironmage.log" 2>&1 &
  IRONMAGE_PID=$!
  IRONMAGE_URL="http://127.0.0.1:$web"
  IRONMAGE_PREDICT_URL="http://127.0.0.1:$predict"
  wait_http "$IRONMAGE_URL/api/health"
}
