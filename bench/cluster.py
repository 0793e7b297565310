#!/usr/bin/env python3
"""`/pipeline` of 10 GETs (10 different keys) through the gateway: one Redis, a Redis Cluster of one master,
and a Redis Cluster of three masters, in the same run.

Redis (every server of the cluster) and the gateway are pinned to core 0, the load generator (wrk, 64
connections) to core 1, as in bench/bench.py. The table gives requests/s and commands/s, p50/p99, the
gateway's CPU per request and all Redis servers' CPU per request together.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (TOKEN, VALUE, free_port, gateway_arguments, measure, start_gateway, start_redis,  # noqa: E402
                   stop, wrk)

SLOTS = 16384
KEYS = [f"key:{i}" for i in range(10)]


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *map(str, args)], capture_output=True, text=True,
                          check=True).stdout.strip()


def start_master(binary, tmp):
    """A Redis with cluster mode on, in a directory of its own (each keeps its nodes.conf): (process, port)."""
    return start_redis(binary, tempfile.mkdtemp(dir=tmp), "--cluster-enabled", "yes", "--cluster-config-file",
                       "nodes.conf", "--cluster-port", str(free_port()))


def form(ports):
    """Each master an equal share of the slots; the first meets the others; until every one says ok."""
    for i, port in enumerate(ports):
        first, last = i * SLOTS // len(ports), (i + 1) * SLOTS // len(ports) - 1
        cli(port, "CLUSTER", "ADDSLOTSRANGE", first, last)
    for port in ports[1:]:
        bus = int(cli(port, "CONFIG", "GET", "cluster-port").splitlines()[1])
        cli(ports[0], "CLUSTER", "MEET", "127.0.0.1", port, bus)
    deadline = time.time() + 30
    while not all("cluster_state:ok" in cli(p, "CLUSTER", "INFO") for p in ports):
        if time.time() > deadline:
            sys.exit("the cluster did not form")
        time.sleep(0.1)


def main():
    parser = gateway_arguments()
    parser.add_argument("--conns", type=int, default=64)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="redisgate-cluster-bench-")
    script = os.path.join(tmp, "pipeline.lua")
    body = "[" + ",".join(f'["get","{k}"]' for k in KEYS) + "]"
    with open(script, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = \'{body}\'\n')

    rows = []
    for name, shards in (("one Redis (redis://)", 0), ("cluster of 1 master", 1), ("cluster of 3 masters", 3)):
        servers = [start_master(args.redis_server, tmp) for _ in range(shards)] or [start_redis(args.redis_server, tmp)]
        ports = [port for _, port in servers]
        if shards:
            form(ports)
            url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
        else:
            url = f"redis://127.0.0.1:{ports[0]}"
        gateway, port = start_gateway(args.gateway, url)
        seed = subprocess.run(["curl", "-sf", "-X", "POST", "-H", f"Authorization: Bearer {TOKEN}",
                               "-d", "[" + ",".join(f'["set","{k}","{VALUE}"]' for k in KEYS) + "]",
                               f"http://127.0.0.1:{port}/pipeline"], capture_output=True, text=True)
        if seed.returncode != 0 or '"error"' in seed.stdout:
            sys.exit(f"seeding failed: {seed.stdout}")
        pids = [gateway.pid] + [p.pid for p, _ in servers]
        rps, p50, p99, cost = measure(lambda: wrk(f"http://127.0.0.1:{port}/pipeline", args.conns, args.seconds,
                                                  script), pids)
        redis_cpu = sum(cost[p.pid] for p, _ in servers)
        rows.append((name, rps, p50, p99, cost[gateway.pid], redis_cpu))
        stop(gateway)
        for process, _ in servers:
            stop(process)

    print(f"`/pipeline` of 10 GETs of 10 keys, {args.conns} connections, {args.seconds} s each; gateway and "
          "Redis on core 0, wrk on core 1\n")
    print("| upstream | req/s | commands/s | p50 ms | p99 ms | gateway CPU-µs/req | Redis CPU-µs/req (all servers) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, rps, p50, p99, gw, redis in rows:
        print(f"| {name} | {rps:,.0f} | {rps * 10:,.0f} | {p50:.3f} | {p99:.3f} | {gw:.1f} | {redis:.1f} |")


if __name__ == "__main__":
    main()
