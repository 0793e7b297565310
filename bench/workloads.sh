#!/usr/bin/env bash
# Every workload clients send (GET, the @upstash/redis auto-pipeline mix, /pipeline, /multi-exec, a 4 KiB
# SET body, h2c, 1 and 2 workers), each against the gateway's own floor in the same run: see workloads.py.
# Usage: bench/workloads.sh [seconds per run, default 5]   — prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk taskset:util-linux h2load:nghttp2-client
deps_cargo
cargo build --release --quiet -p redisgate-server
exec python3 bench/workloads.py --gateway "$CARGO_TARGET_DIR/release/redisgate-gateway" --seconds "${1:-5}"
