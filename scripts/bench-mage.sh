#!/usr/bin/env bash
# The engine's per-block overhead next to Mage's, on this machine, in one run: the same no-op
# pipelines (a 100-block chain, a 10-wide and a 100-wide fan-out) run by `mage run` (Mage
# 0.9.80 from PyPI in a virtualenv) and by ironmage's engine (cargo bench --bench engine).
# Mage's figure includes its start-up, so a 1-block pipeline is timed too and subtracted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv-mage"
work="$root/target/bench-mage"
if [ ! -x "$venv/bin/mage" ]; then
  echo "== installing mage-ai 0.9.80 into $venv (a few minutes)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "mage-ai==0.9.80"
fi
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && "$venv/bin/mage" init proj >/dev/null 2>&1)
for spec in "one chain 1" "chain_100 chain 100" "wide_10 wide 10" "wide_100 wide 100"; do
  set -- $spec
  python3 bench/mage/make_pipeline.py "$work/proj" "$1" "$2" "$3"
done

median_ms() { # pipeline -> median wall ms of 3 `mage run`
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    (cd "$work" && "$venv/bin/mage" run proj "$1" >"$work/$1.log" 2>&1) || { echo "mage run $1 failed: see $work/$1.log" >&2; exit 1; }
    grep -q "Pipeline run completed" "$work/$1.log" || { echo "mage run $1 did not complete: see $work/$1.log" >&2; exit 1; }
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

echo "== Mage $("$venv/bin/pip" show mage-ai | sed -n 's/^Version: //p'): mage run, median of 3, wall ms"
base=$(median_ms one)
printf "%-10s %7s %12s %14s\n" pipeline blocks "run ms" "per block ms"
printf "%-10s %7s %12s %14s\n" one 1 "$base" "(start-up)"
for spec in "chain_100 100" "wide_10 12" "wide_100 102"; do
  set -- $spec
  ms=$(median_ms "$1")
  printf "%-10s %7s %12s %14s\n" "$1" "$2" "$ms" "$(python3 -c "print(f'{($ms - $base) / ($2 - 1):.2f}')")"
done

echo "== ironmage engine (cargo bench -p ironmage-core --bench engine)"
cargo bench -q -p ironmage-core --bench engine 2>/dev/null
