#!/usr/bin/env bash
# ironmage's tree learners against scikit-learn, side by side in one run, on the same CSV files
# and split: fit time, single-row and 10k-row prediction time, AUC or RMSE.
# Usage: bash scripts/bench-sklearn.sh [sizes] [trees] [depth] [iters]
#        (defaults 1000,100000,1000000 100 10 100; about 13 minutes in all on 2 idle cores, most of
#        it scikit-learn's 1M-row forests; IRONMAGE_BENCH_REPEATS=1 fits each model once).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/bench-venv
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'scikit-learn>=1.5' numpy
fi
mkdir -p target/bench-sklearn
"$venv/bin/python" -c 'import sklearn; print("scikit-learn", sklearn.__version__)'
IRONMAGE_BENCH_PYTHON="$venv/bin/python" IRONMAGE_BENCH_DIR=target/bench-sklearn \
  cargo run --release --quiet -p ironmage-core --example bench_vs_sklearn -- "$@"
