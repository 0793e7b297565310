#!/usr/bin/env bash
# Where the gateway's CPU goes under GET /get/k at 64 connections, in bench/run.sh's layout (gateway and Redis
# on core 0, wrk on core 1): user space against the kernel, and the kernel by system call. perf samples the
# software clock (this machine has no hardware counters) with call graphs, kernel included.
# Usage: bench/kernel.sh [gateway binary] [path lua-script]
#   (default: this checkout's release build, profile-guided as shipped: scripts/build-release.sh; GET /get/k)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
deps_redis
apt_install wrk:wrk perf:linux-perf taskset:util-linux
bin=${1:-$(scripts/build-release.sh)}
path=${2:-/get/k}
work=$(mktemp -d)
trap 'kill "$gateway" 2>/dev/null || true; redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
taskset -c 0 redis-server --port "$redis_port" --save "" --appendonly no --daemonize yes --dir "$work" --logfile "$work/redis.log"
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p "$redis_port" set k "$(printf 'v%.0s' $(seq 100))" >/dev/null
echo 'wrk.headers["Authorization"] = "Bearer bench-token"' > "$work/get.lua"
script=${3:-$work/get.lua}
port=$(free_port)
taskset -c 0 "$bin" --listen "127.0.0.1:$port" --redis-url "redis://127.0.0.1:$redis_port" --token bench-token \
    --workers 1 2>/dev/null &
gateway=$!
until curl -sf -o /dev/null -H 'Authorization: Bearer bench-token' "http://127.0.0.1:$port/get/k"; do sleep 0.1; done
taskset -c 1 wrk -t1 -c64 -d8s -s "$script" "http://127.0.0.1:$port$path" > "$work/wrk.txt" &
load=$!
sleep 2  # connections open and warm: sample the steady state only
perf record -q -e cpu-clock -F 4999 -g -p "$gateway" -o "$work/perf.data" -- sleep 4 2>/dev/null
wait "$load"
echo "GET at 64 connections: $(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") requests/s"
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
