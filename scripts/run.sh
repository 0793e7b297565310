#!/usr/bin/env bash
# Runs RedisGate on this machine: installs Redis and PostgreSQL if missing, builds the CLI, then runs
# `redisgate dev` — a private PostgreSQL, the platform gateway (management API + data plane) and the local
# provisioner, with a first instance whose REST URL, token and a working curl line are printed.
# State is kept in ~/.local/state/redisgate/dev and reused on the next start. Ctrl-C stops everything.
# Extra arguments go to `redisgate dev` (e.g. --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_postgres
deps_cargo
echo "==> building redisgate (release)"
cargo build --release --quiet -p redisgate-cli
echo "==> the CLI is $CARGO_TARGET_DIR/release/redisgate (add it to PATH to use it directly)"
exec "$CARGO_TARGET_DIR/release/redisgate" dev "$@"
