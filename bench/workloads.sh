#!/usr/bin/env bash
# Every workload clients send (GET, the @upstash/redis auto-pipeline mix, /pipeline, /multi-exec, a 4 KiB
# SET body, h2c, 1 and 2 workers), each against the gateway's own floor in the same run, and webdis's GET: see
# workloads.py.
# Usage: bench/workloads.sh [seconds per run, default 5]   — prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk taskset:util-linux h2load:nghttp2-client webdis:webdis
gateway=$(scripts/build-release.sh)  # the release build, profile-guided as shipped
exec python3 bench/workloads.py --gateway "$gateway" --seconds "${1:-5}"
