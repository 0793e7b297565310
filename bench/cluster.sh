#!/usr/bin/env bash
# /pipeline of 10 GETs through the gateway in front of one Redis, a one-master cluster and a three-master
# cluster, in the same run: see cluster.py.
# Usage: bench/cluster.sh [seconds per run, default 5]   — prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk taskset:util-linux curl:curl
gateway=$(scripts/build-release.sh)  # the release build, profile-guided as shipped
exec python3 bench/cluster.py --gateway "$gateway" --seconds "${1:-5}"
