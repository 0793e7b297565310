#!/usr/bin/env bash
# Runs the RedisGate platform on this machine: a private PostgreSQL, the platform gateway (management API +
# data plane) and the local provisioner, which starts a redis-server per instance. Installs what is missing.
# State (database, JWT secret, instances' data) lives in $REDISGATE_STATE (default ~/.local/state/redisgate)
# and is reused on the next start. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_postgres
deps_cargo

STATE="${REDISGATE_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/redisgate}"
LISTEN="${REDISGATE_LISTEN:-127.0.0.1:8080}"
mkdir -p "$STATE"

echo "==> building redisgate-gateway (release)"
cargo build --release --quiet -p redisgate-gateway
GATEWAY="$CARGO_TARGET_DIR/release/redisgate-gateway"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A private PostgreSQL in the state directory, owned by a non-root user.
PGDIR="$STATE/postgres"
if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    echo "==> creating a private PostgreSQL in $PGDIR"
    mkdir -p "$PGDIR"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$PGDIR"
    as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -A trust -U redisgate -E UTF8 >/dev/null
fi
PGPORT="$(free_port)"
as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1" start >/dev/null
cleanup() {
    [ -n "${GATEWAY_PID:-}" ] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
psql "postgres://redisgate@127.0.0.1:$PGPORT/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='redisgate'" | grep -q 1 \
    || psql -q "postgres://redisgate@127.0.0.1:$PGPORT/postgres" -c "CREATE DATABASE redisgate"

# The JWT secret: generated once, kept readable by its owner only.
if [ ! -s "$STATE/jwt-secret" ]; then
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > "$STATE/jwt-secret")
fi

REDISGATE_JWT_SECRET="$(cat "$STATE/jwt-secret")" REDISGATE_DATABASE_URL="postgres://redisgate@127.0.0.1:$PGPORT/redisgate" \
    "$GATEWAY" --listen "$LISTEN" --state-dir "$STATE/instances" &
GATEWAY_PID=$!
for _ in $(seq 100); do curl -sf "http://$LISTEN/-/health" >/dev/null 2>&1 && break; sleep 0.1; done

API="http://$LISTEN/api"
cat <<MSG

RedisGate is running: management API at $API (OpenAPI: $API/openapi.json)
State: $STATE (PostgreSQL on 127.0.0.1:$PGPORT)

Create a user, an organization and an instance:
  curl -s -X POST $API/auth/register -d '{"email":"you@example.com","password":"choose a good one 1"}'
  TOKEN=\$(curl -s -X POST $API/auth/login -d '{"email":"you@example.com","password":"choose a good one 1"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
  ORG=\$(curl -s -X POST -H "Authorization: Bearer \$TOKEN" $API/organizations -d '{"name":"My org","slug":"my-org"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
  curl -s -X POST -H "Authorization: Bearer \$TOKEN" $API/organizations/\$ORG/redis-instances -d '{"name":"my-redis","max_memory":104857600,"redis_version":"7.2"}'

The answer holds the instance's REST URL and token (shown once). Then:
  curl -H "Authorization: Bearer <token>" http://$LISTEN/db/my-redis/set/hello/world

Ctrl-C stops the gateway, its Redis servers and PostgreSQL.
MSG
wait "$GATEWAY_PID"
