#!/usr/bin/env bash
# Runs RedisGate on this machine: installs Redis if missing, builds the gateway, starts a private
# redis-server (unless REDISGATE_REDIS_URL points at one) and serves it on REDISGATE_LISTEN
# (default 127.0.0.1:8080) with a fresh token (or REDISGATE_TOKEN). Prints a curl line that works.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_cargo

echo "==> building redisgate-gateway (release)"
cargo build --release --quiet -p redisgate-gateway
GATEWAY="$CARGO_TARGET_DIR/release/redisgate-gateway"

LISTEN="${REDISGATE_LISTEN:-127.0.0.1:8080}"
TOKEN="${REDISGATE_TOKEN:-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')}"
READONLY_TOKEN="${REDISGATE_READONLY_TOKEN:-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')}"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ -z "${REDISGATE_REDIS_URL:-}" ]; then
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    data="$REDISGATE_CACHE/run-redis"
    mkdir -p "$data"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --save 60 1 --logfile "$data/redis.log" &
    pids+=($!)
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    REDISGATE_REDIS_URL="redis://127.0.0.1:$port"
    echo "==> started redis-server on 127.0.0.1:$port (data in $data)"
fi

REDISGATE_TOKEN="$TOKEN" REDISGATE_READONLY_TOKEN="$READONLY_TOKEN" \
    "$GATEWAY" --listen "$LISTEN" --redis-url "$REDISGATE_REDIS_URL" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://$LISTEN/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done

cat <<MSG

RedisGate is serving $REDISGATE_REDIS_URL at http://$LISTEN

  UPSTASH_REDIS_REST_URL=http://$LISTEN
  UPSTASH_REDIS_REST_TOKEN=$TOKEN
  read-only token: $READONLY_TOKEN

Try it:
  curl -H "Authorization: Bearer $TOKEN" http://$LISTEN/set/hello/world
  curl -H "Authorization: Bearer $TOKEN" http://$LISTEN/get/hello

Ctrl-C stops the gateway and the Redis it started.
MSG
wait -n "${pids[@]}"
