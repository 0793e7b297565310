#!/usr/bin/env bash
# Where the gateway's CPU goes under GET /get/k at 64 connections, in bench/run.sh's layout (gateway and Redis
# on core 0, wrk on core 1): user space against the kernel, and the kernel by system call. perf samples the
# software clock (this machine has no hardware counters) with call graphs, kernel included.
# Usage: bench/kernel.sh [gateway binary] [path] [wrk lua script]
#   (default: this checkout's release build, profile-guided as shipped: scripts/build-release.sh; GET /get/k)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk perf:linux-perf taskset:util-linux
bin=${1:-$(scripts/build-release.sh)}
path=${2:-/get/k}
work=$(mktemp -d) gateway="" redis_port=""
trap 'kill "$gateway" 2>/dev/null || true; redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
source bench/gateway.sh
start_redis taskset -c 0
script=${3:-$work/get.lua}
start_gateway "$bin" taskset -c 0
taskset -c 1 wrk -t1 -c64 -d8s -s "$script" "http://127.0.0.1:$port$path" > "$work/wrk.txt" &
load=$!
sleep 2  # connections open and warm: sample the steady state only
if ! perf record -q -e cpu-clock -F 4999 -g -p "$gateway" -o "$work/perf.data" -- sleep 4 ||
    [ ! -s "$work/perf.data" ]; then
    echo "perf could not sample the gateway (as root, or with kernel.perf_event_paranoid <= 1;" \
        "now $(cat /proc/sys/kernel/perf_event_paranoid))" >&2
    exit 1
fi
wait "$load"
echo "GET at 64 connections, slowed by the sampling: $(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") requests/s"
echo
echo "| where | share of the gateway's CPU |"
echo "|---|---:|"
report() { perf report -i "$work/perf.data" --stdio --no-call-graph "$@" 2>/dev/null </dev/null | awk '/%/ && !/^#/'; }
report --no-children --sort dso |
    awk '{name = ($2 == "[kernel.kallsyms]") ? "kernel" : "user space: " $2; printf "| %s | %s |\n", name, $1}'
while IFS='|' read -r entry what; do
    share=$(report --children --sort sym | awk -v s="$entry" '$NF == s && !found {print $1; found = 1}')
    echo "| kernel: $what (\`$entry\` and what it calls) | ${share:-0%} |"
done <<'ENTRIES'
do_writev|writing responses to clients
net_rx_action|of which: loopback delivery into the client's socket, done by the sender
__sys_recvfrom|reading requests and Redis's replies
__sys_sendto|writing commands to Redis
do_epoll_wait|waiting for sockets
schedule|switching to Redis (same core) and back
ENTRIES
