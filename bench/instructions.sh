#!/usr/bin/env bash
# User-space instructions per request of the gateway (valgrind's callgrind), a figure that, unlike req/s,
# does not move with the noise of a shared 2-core machine: GET /get/k, then POST /pipeline of 10 GETs, each at 16
# connections for 15 s, each in a fresh gateway (so one's warm-up is not charged to the other).
# Usage: bench/instructions.sh [gateway binary ...]
#   (default: this checkout's release build, profile-guided as shipped: scripts/build-release.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk valgrind:valgrind curl:curl
if [ $# -eq 0 ]; then
    set -- "$(scripts/build-release.sh)"
fi
work=$(mktemp -d) gateway="" redis_port=""
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
source bench/gateway.sh
start_redis
{
    echo 'wrk.headers["Authorization"] = "Bearer bench-token"'
    echo 'wrk.method = "POST"'
    echo "wrk.body = '[$(printf '["get","k"],%.0s' $(seq 9))[\"get\",\"k\"]]'"
} > "$work/pipeline.lua"
echo "| gateway | request | requests | instructions | instructions/request |"
echo "|---|---|---:|---:|---:|"
for bin in "$@"; do
    for request in get pipeline; do
        if [ "$request" = get ]; then path=/get/k; else path=/pipeline; fi
        start_gateway "$bin" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out"
        requests=$(wrk -t1 -c16 -d15s -s "$work/$request.lua" "http://127.0.0.1:$port$path" | awk '/requests in/ {print $1}')
        kill -INT "$gateway"
        wait "$gateway" || true
        total=$(awk '/^(summary|totals):/ {print $2; exit}' "$work/callgrind.out")
        echo "| $bin | $path | $requests | $total | $((total / requests)) |"
    done
done
