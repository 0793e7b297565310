#!/usr/bin/env bash
# Benchmarks the gateway against redis-benchmark, side by side, in one run on this machine.
# Redis and the gateway share core 0; the load generators (wrk, redis-benchmark) run on core 1.
# Usage: bench/run.sh [seconds per wrk run, default 5]   — prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk taskset:util-linux
gateway=$(scripts/build-release.sh)  # the release build, profile-guided as shipped
exec python3 bench/bench.py --gateway "$gateway" --seconds "${1:-5}" --floor
