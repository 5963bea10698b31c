#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this kind: formatting and lints, every Rust test
# (unit, integration, end-to-end over loopback HTTP, the store and queue against real PostgreSQL
# and Redis), the MLflow client suite (tests/mlflow, in a venv), the API docs, and the dashboard
# in a real browser. Installs what it needs, starts
# the services it needs (scripts/services.sh); fails on the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Import cycles between source files: the checker checks itself on fake crates first, so a
# checker that stopped seeing cycles cannot pass the real check.
python3 scripts/import-cycles.py --self-test
python3 scripts/import-cycles.py

step "services: PostgreSQL and Redis for the backend tests"
# Starts what is down and exports IRONMAGE_TEST_POSTGRES_URL and IRONMAGE_TEST_REDIS_URL
# (values already in the environment are kept). CI is passed on only if it is set: with CI set,
# a backend test whose URL is missing fails instead of skipping.
# shellcheck source=scripts/services.sh
source scripts/services.sh
if [[ -n "${CI:-}" ]]; then
  export CI
fi

# Tests named destructive_* restart PostgreSQL or flush all of Redis: they run after the others,
# one at a time (see .config/nextest.toml). The filter is the same in both runs.
destructive='test(/(^|::)destructive_/)'

step "Python venv: the MLflow client and the libraries the serving tests train models with"
# shellcheck source=scripts/mlflow-common.sh
source scripts/mlflow-common.sh
mlflow_venv
# Tests that need Python models use this interpreter; with CI set, they fail if it is missing.
export IRONMAGE_TEST_PYTHON="$PWD/$MLFLOW_VENV/bin/python"

step "rust tests"
cargo nextest run --workspace --locked --no-fail-fast -E "not $destructive"

step "rust tests that restart services, one at a time"
cargo nextest run --workspace --locked --no-fail-fast -E "$destructive" --test-threads 1 --no-tests=pass

step "MLflow compatibility: the official Python client against ironmage"
bash scripts/mlflow-tests.sh

step "doc tests and docs"
cargo test --workspace --doc --locked
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "dashboard in a real browser"
bash tests/browser/run.sh

step "all tests passed"
