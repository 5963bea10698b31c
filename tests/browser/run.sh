#!/usr/bin/env bash
# Real-browser test of the dashboard: builds ironmage, starts `ironmage up` on free loopback ports
# with a fresh data dir and project, and drives Debian's Chromium through playwright-core.
#
#   bash tests/browser/run.sh
#
# Needs cargo and node (>= 18); installs chromium with apt-get when /usr/bin/chromium is missing
# (never a browser download from playwright). Exits non-zero when anything fails; the server is
# always stopped. Screenshot: /tmp/ironmage-dashboard.png (override with SCREENSHOT=...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS

log() { printf '[browser-test] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_install() {
  log "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- tools -------------------------------------------------------------------------------------
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  apt_install chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
log "using $("$CHROMIUM" --version 2>/dev/null | head -n1), node $(node --version)"

# --- test dependencies (playwright-core only: it never downloads a browser) ---------------------
(
  cd "$here"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
)

# --- binary ------------------------------------------------------------------------------------
log "building ironmage"
(cd "$root" && cargo build --bin ironmage)
bin="$root/target/debug/ironmage"

# --- server --------------------------------------------------------------------------------------
tmp="$(mktemp -d -t ironmage-browser-XXXXXX)"
server_pid=""
cleanup() {
  local code=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$code" -ne 0 ] && [ -f "$tmp/server.log" ]; then
    log "server log (last 40 lines):"
    tail -n 40 "$tmp/server.log" >&2 || true
  fi
  rm -rf "$tmp"
  log "finished in $((SECONDS - started)) s with exit code $code"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free loopback ports, held together so they differ.
read -r web_port predict_port < <(node -e '
  const net = require("net");
  const a = net.createServer().listen(0, "127.0.0.1", () => {
    const b = net.createServer().listen(0, "127.0.0.1", () => {
      console.log(a.address().port, b.address().port); a.close(); b.close();
    });
  });')

"$bin" init "$tmp/project" >/dev/null
export IRONMAGE_DATA_DIR="$tmp/data"
export IRONMAGE_PROJECT_DIR="$tmp/project"
export IRONMAGE_WEB_ADDR="127.0.0.1:$web_port"
export IRONMAGE_PREDICT_ADDR="127.0.0.1:$predict_port"
mkdir -p "$IRONMAGE_DATA_DIR"
log "starting ironmage up (web $IRONMAGE_WEB_ADDR, predict $IRONMAGE_PREDICT_ADDR, data $tmp)"
NO_COLOR=1 "$bin" up >"$tmp/server.log" 2>&1 &
server_pid=$!

url="http://127.0.0.1:$web_port"
for i in $(seq 1 120); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "ironmage up exited before answering"
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then(r => r.json()).then(j => process.exit(j.status === "healthy" ? 0 : 1), () => process.exit(1))' "$url/api/health"; then
    break
  fi
  if [ "$i" -eq 120 ]; then log "no healthy answer from $url/api/health after 60 s"; exit 1; fi
  sleep 0.5
done
log "server healthy at $url"

# --- the test ------------------------------------------------------------------------------------
cd "$here"
IRONMAGE_URL="$url" node --test dashboard.test.mjs
