#!/usr/bin/env bash
# Load and soak run (default five minutes at 256 connections) against `redisgate dev` on loopback.
# Usage: bench/soak.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_postgres
apt_install wrk:wrk
deps_cargo
cargo build --release --quiet -p redisgate-cli
exec python3 bench/soak.py --cli "$CARGO_TARGET_DIR/release/redisgate" --seconds "${1:-300}"
