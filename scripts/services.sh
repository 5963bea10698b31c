#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis the backend tests need are up, and tell where they are.
#
#   bash scripts/services.sh      starts what is down, waits for it, prints the env lines
#   source scripts/services.sh    the same, and exports IRONMAGE_TEST_POSTGRES_URL and
#                                 IRONMAGE_TEST_REDIS_URL into the calling shell
#
# Idempotent: a service that already answers is left alone. A URL already set in the environment
# is kept as is (the local services are still started). Fails loudly (non-zero) when a service
# does not answer within 60 s (IRONMAGE_SERVICES_TIMEOUT, in seconds).

ironmage_services() {
  local timeout=${IRONMAGE_SERVICES_TIMEOUT:-60}
  local pg_url="${IRONMAGE_TEST_POSTGRES_URL:-}"
  local redis_url="${IRONMAGE_TEST_REDIS_URL:-}"

  say() { printf 'services: %s\n' "$*" >&2; }
  fail() { printf 'services: error: %s\n' "$*" >&2; return 1; }

  # Wait until "$@" succeeds, up to $timeout seconds.
  wait_for() {
    local what="$1" i
    shift
    for ((i = 0; i < timeout * 2; i++)); do
      if "$@" >/dev/null 2>&1; then
        return 0
      fi
      sleep 0.5
    done
    fail "$what does not answer after ${timeout}s ($*)"
  }

  # PostgreSQL
  command -v pg_isready >/dev/null || { fail "pg_isready not found (PostgreSQL client tools)"; return 1; }
  if ! pg_isready -h 127.0.0.1 -q; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$version" ]] || { fail "PostgreSQL is down and no cluster is configured under /etc/postgresql"; return 1; }
    say "starting PostgreSQL $version"
    # Tolerate "already running" and the like: the wait below is the judge.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL pg_isready -h 127.0.0.1 -q || return 1
  fi
  if [[ -z "$pg_url" ]]; then
    # The machine has roles root and postgres (trust auth); prefer root, fall back to postgres.
    local user="" candidate
    for candidate in root postgres; do
      if psql -h 127.0.0.1 -U "$candidate" -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
        user="$candidate"
        break
      fi
    done
    [[ -n "$user" ]] || { fail "cannot connect to PostgreSQL at 127.0.0.1:5432 as root or postgres"; return 1; }
    if [[ "$(psql -h 127.0.0.1 -U "$user" -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]]; then
      say "creating database test"
      psql -h 127.0.0.1 -U "$user" -d postgres -qc 'CREATE DATABASE test' >/dev/null || { fail "cannot create database test"; return 1; }
    fi
    pg_url="postgres://$user@127.0.0.1:5432/test"
  else
    say "keeping IRONMAGE_TEST_POSTGRES_URL from the environment"
  fi

  # Redis
  command -v redis-cli >/dev/null || { fail "redis-cli not found"; return 1; }
  if [[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" != PONG ]]; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    wait_for Redis sh -c '[ "$(redis-cli -h 127.0.0.1 ping)" = PONG ]' || return 1
  fi
  if [[ -z "$redis_url" ]]; then
    redis_url="redis://127.0.0.1:6379"
  else
    say "keeping IRONMAGE_TEST_REDIS_URL from the environment"
  fi

  export IRONMAGE_TEST_POSTGRES_URL="$pg_url"
  export IRONMAGE_TEST_REDIS_URL="$redis_url"
  printf 'IRONMAGE_TEST_POSTGRES_URL=%s\n' "$pg_url"
  printf 'IRONMAGE_TEST_REDIS_URL=%s\n' "$redis_url"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: export into the caller; report failure without killing an interactive shell.
  ironmage_services
else
  set -euo pipefail
  ironmage_services
fi
