#!/usr/bin/env bash
# Runs every test against real services (redis-server, PostgreSQL, the Upstash clients): installs what is
# missing, then
#   1. the gateway suite against Debian's redis-server 7.0,
#   2. every test of the workspace (unit, integration, the @upstash/redis and upstash-redis suites)
#      against redis-server 8.2 with RedisJSON,
#   3. the doc tests,
#   4. the OpenTelemetry export of a gateway built with the `otel` feature.
# Usage: scripts/test.sh [extra nextest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_postgres
deps_redis8
deps_compat
deps_k8s
deps_cargo
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

echo "==> gateway suite against $(redis-server --version | cut -d' ' -f1-3)"
REDISGATE_REDIS_SERVER_BIN="$(command -v redis-server)" \
    cargo nextest run --workspace --no-fail-fast -E 'not test(compat)' "$@"

echo "==> cargo test --doc"
cargo test --workspace --doc --quiet

echo "==> OpenTelemetry export (feature otel)"
cargo nextest run -p redisgate-gateway --features otel --no-fail-fast --test otel -E 'binary_id(redisgate-gateway::otel)'

echo "==> every test against $("$REDIS8_SERVER" --version | cut -d' ' -f1-3) with RedisJSON"
REDISGATE_REDIS_SERVER_BIN="$REDIS8_SERVER" REDISGATE_REDIS_MODULES="$REDIS8_MODULES" \
    cargo nextest run --workspace --no-fail-fast "$@"
