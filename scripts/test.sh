#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this kind: formatting and lints, every Rust test
# (unit, integration, end-to-end over loopback HTTP), the API docs, and the dashboard in a
# real browser. Installs what it needs; fails on the first problem.
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

step "rust tests"
cargo nextest run --workspace --locked --no-fail-fast

step "doc tests and docs"
cargo test --workspace --doc --locked
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "dashboard in a real browser"
bash tests/browser/run.sh

step "all tests passed"
