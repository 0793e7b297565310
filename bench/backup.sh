#!/usr/bin/env bash
# Backup, export, restore and import of an instance holding about 1 GiB, through `redisgate dev` and the
# CLI: see backup.py.
# Usage: bench/backup.sh [GiB, default 1]   — prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
deps_postgres
deps_cargo
cargo build --release --quiet -p redisgate-cli
exec python3 bench/backup.py "$CARGO_TARGET_DIR/release/redisgate" --gib "${1:-1}"
