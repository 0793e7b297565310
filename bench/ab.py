#!/usr/bin/env python3
"""A/B of two gateway binaries on one workload, interleaved so the machine's drift hits both alike.

Each round runs one workload at 64 connections for a few seconds against binary A, then B (same Redis, same
core layout as bench.py: Redis and the gateway on core 0, wrk on core 1). Prints each round and the medians.
The workload is `GET /get/k`, or with `--pipeline N` a `POST /pipeline` of N `GET k`.
Either side may be `redis-benchmark` instead of a binary: `redis-benchmark GET -P 1` (or `-P N`, a "request"
then being one batch of N), 64 connections, against the same Redis, its CPU column Redis's. Interleaved, it
gives the gateway's ratio to `redis-benchmark` as a median of rounds rather than from one pair of runs.
Usage: bench/ab.py A B [--rounds 5] [--seconds 5] [--pipeline N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench import VALUE, measure, redis_benchmark, start_gateway, start_redis, stop, wrk  # noqa: E402
from workloads import post_script  # noqa: E402


REDIS_BENCHMARK = "redis-benchmark"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--pipeline", type=int, help="POST /pipeline of this many GETs instead of GET /get/k")
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    path, script = "/get/k", None
    if args.pipeline:
        path, script = "/pipeline", os.path.join(work, "pipeline.lua")
        post_script(script, "[" + ",".join('["get","k"]' for _ in range(args.pipeline)) + "]")
    redis, redis_port = start_redis("redis-server", work)
    subprocess.run(["redis-cli", "-p", str(redis_port), "set", "k", VALUE], check=True, capture_output=True)
    results = {args.a: [], args.b: []}
    try:
        print("| round | binary | req/s | p50 ms | p99 ms | CPU-µs/request (the gateway's; Redis's for redis-benchmark) |")
        print("|---:|---|---:|---:|---:|---:|")
        for round_ in range(1, args.rounds + 1):
            for binary in (args.a, args.b):
                rps, p50, p99, cpu = one_run(binary, redis, redis_port, path, script, args)
                results[binary].append((rps, cpu, p99))
                print(f"| {round_} | {binary} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.1f} |")
        print()
        for binary, rows in results.items():
            print(f"{binary}: median {statistics.median(r[0] for r in rows):,.0f} req/s, "
                  f"{statistics.median(r[1] for r in rows):.1f} CPU-µs, p99 {statistics.median(r[2] for r in rows):.2f} ms")
        ratios = [b[0] / a[0] for a, b in zip(results[args.a], results[args.b])]
        print(f"B / A, round by round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}")
    finally:
        stop(redis)


def one_run(binary, redis, redis_port, path, script, args):
    """One run of the workload against `binary` (or redis-benchmark): req/s, p50, p99, CPU-µs per request."""
    if binary == REDIS_BENCHMARK:
        # About as many requests as wrk makes in the same time.
        batch = args.pipeline or 1
        n = 90000 * args.seconds * batch
        rps, p50, p99, cost = measure(lambda: redis_benchmark(redis_port, "get", 64, batch, n), [redis.pid])
        return rps / batch, p50, p99, cost[redis.pid] * batch
    proc, port = start_gateway(binary, f"redis://127.0.0.1:{redis_port}")
    try:
        url = f"http://127.0.0.1:{port}{path}"
        wrk(url, 64, 1, script)  # warm-up: connections and allocator
        rps, p50, p99, cost = measure(lambda: wrk(url, 64, args.seconds, script), [proc.pid])
    finally:
        stop(proc)
    return rps, p50, p99, cost[proc.pid]


if __name__ == "__main__":
    main()
