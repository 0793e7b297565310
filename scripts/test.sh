#!/usr/bin/env bash
# Runs every test against real services (redis-server, PostgreSQL, the Upstash clients): installs what is
# missing, then
#   1. the gateway's suites (core, gateway, the integration tests without the Upstash clients) against
#      Debian's redis-server 7.0,
#   2. the doc tests,
#   3. the OpenTelemetry export of a gateway built with the `otel` feature,
#   4. every test of the workspace (unit, integration, operator, client, CLI, the @upstash/redis and
#      upstash-redis suites, the console in headless Chromium) against redis-server 8.2 with RedisJSON.
# Usage: scripts/test.sh [extra nextest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_postgres
deps_redis8
deps_compat
deps_k8s
deps_s3
deps_browser
deps_cargo
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

echo "==> the embeddable data plane pulls no control-plane crate"
heavy="$(cargo tree -p redisgate-gateway -e normal --prefix none | cut -d' ' -f1 | sort -u \
    | grep -E '^(diesel|diesel-async|deadpool|argon2|jsonwebtoken|kube|k8s-openapi|utoipa|tikv-jemallocator|clap|redisgate-platform|redisgate-operator)$' || true)"
if [ -n "$heavy" ]; then
    echo "redisgate-gateway depends on $(echo $heavy | tr '\n' ' '): keep the data plane light (docs/architecture.md)" >&2
    exit 1
fi

echo "==> no module depends on a sibling that depends on it"
python3 scripts/check-module-cycles.py redisgate-*/

echo "==> lints (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

# What talks to Redis runs against both versions. The management API's suites (accounts, keys, roles, the
# console, the binary's flags), the operator, the client and the CLI do not depend on the Redis version:
# they run once, in the last step.
echo "==> gateway suites against $(redis-server --version | cut -d' ' -f1-3)"
REDISGATE_REDIS_SERVER_BIN="$(command -v redis-server)" \
    cargo nextest run -p redisgate-core -p redisgate-gateway -p redisgate-platform -p redisgate-tests --no-fail-fast \
    -E 'not test(compat) and not test(/^(client|platform::(accounts|abuse|authz|browser|dashboard|lifecycle|openapi|plans|validation))::/)' "$@"

echo "==> cargo test --doc"
cargo test --workspace --doc --quiet

echo "==> OpenTelemetry export (feature otel)"
cargo nextest run -p redisgate-server --features otel --no-fail-fast --test otel -E 'binary_id(redisgate-server::otel)'

echo "==> every test against $("$REDIS8_SERVER" --version | cut -d' ' -f1-3) with RedisJSON"
REDISGATE_REDIS_SERVER_BIN="$REDIS8_SERVER" REDISGATE_REDIS_MODULES="$REDIS8_MODULES" \
    cargo nextest run --workspace --no-fail-fast "$@"
