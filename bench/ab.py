#!/usr/bin/env python3
"""A/B of two gateway binaries on one workload, interleaved so the machine's drift hits both alike.

Each round runs one workload at 64 connections for a few seconds against binary A, then B (same Redis, same
core layout as bench.py: Redis and the gateway on core 0, wrk on core 1). Prints each round and the medians.
The workload is `GET /get/k`, or with `--pipeline N` a `POST /pipeline` of N `GET k`.
Either side may be `redis-benchmark` instead of a binary: `redis-benchmark GET -P 1` (or `-P N`, a "request"
then being one batch of N), 64 connections, against the same Redis. Interleaved, it gives the gateway's ratio
to `redis-benchmark` as a median of rounds rather than from one pair of runs. A side written
`floor:BINARY` is that binary's floor (`--bench-floor`: its serving answering a fixed body, no Redis):
`bench/ab.py floor:G G` gives the gateway's CPU per request as a multiple of its floor's, round by round.

Each run's CPU per request is split by core: core 0's (the gateway's and Redis's, each user + kernel) and
core 1's (the load generator's), with how busy each core was. The side whose core is ~100% busy is the one
that bounds the rate: with redis-benchmark it is the client on core 1; with the gateway, core 0.
Usage: bench/ab.py A B [--rounds 5] [--seconds 5] [--pipeline N]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench import VALUE, cpu_split, redis_benchmark, start_gateway, start_redis, stop, wrk  # noqa: E402
from workloads import post_script  # noqa: E402


REDIS_BENCHMARK = "redis-benchmark"
FLOOR = "floor:"


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
        print("| round | binary | req/s | p50 ms | p99 ms | gateway CPU-µs (user+kernel) | Redis CPU-µs | "
              "core 0 µs, busy | load generator µs (core 1), busy |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for round_ in range(1, args.rounds + 1):
            for binary in (args.a, args.b):
                run = one_run(binary, redis, redis_port, path, script, args)
                results[binary].append(run)
                print(f"| {round_} | {binary} | {run.rps:,.0f} | {run.p50:.2f} | {run.p99:.2f} | "
                      f"{split(run.gateway)} | {split(run.redis)} | {run.core0:.1f}, {run.busy(run.core0)} | "
                      f"{run.load:.1f}, {run.busy(run.load)} |")
        print()
        for binary, runs in results.items():
            median = lambda field: statistics.median(getattr(r, field) for r in runs)  # noqa: E731
            print(f"{binary}: median {median('rps'):,.0f} req/s, core 0 {median('core0'):.1f} CPU-µs per request, "
                  f"load generator {median('load'):.1f}, p99 {median('p99'):.2f} ms")
        ratios = [b.rps / a.rps for a, b in zip(results[args.a], results[args.b])]
        print(f"B / A, round by round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}")
        if REDIS_BENCHMARK not in (args.a, args.b):
            cpu = [sum(b.gateway) / sum(a.gateway) for a, b in zip(results[args.a], results[args.b])]
            print(f"gateway CPU per request, B / A, round by round: {', '.join(f'{r:.2f}' for r in cpu)}; "
                  f"median {statistics.median(cpu):.2f}")
    finally:
        stop(redis)


class Run:
    """One run: its rate and latencies, and CPU-µs per request of the gateway and Redis, each (user, kernel),
    and of the load generator."""

    def __init__(self, rps, p50, p99, gateway, redis, load):
        self.rps, self.p50, self.p99, self.gateway, self.redis, self.load = rps, p50, p99, gateway, redis, load
        self.core0 = sum(gateway) + sum(redis)

    def busy(self, us_per_request):
        """How busy a core spending `us_per_request` on each request was, at this rate."""
        return f"{us_per_request * self.rps / 1e6:.0%}"


def split(cost):
    return f"{cost[0]:.1f}+{cost[1]:.1f}" if cost != (0, 0) else "–"


def measure_by_core(run, gateway, redis):
    """Runs the load generator `run`; CPU-µs per request of the gateway (pid, or None), Redis and the
    load generator (a child process that has ended: its usage is in RUSAGE_CHILDREN)."""
    pids = [pid for pid in (gateway, redis) if pid]
    before = {pid: cpu_split(pid) for pid in pids}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps, p50, p99, requests = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    per = {pid: tuple((b - a) * 1e6 / requests for a, b in zip(before[pid], cpu_split(pid))) for pid in pids}
    load = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) * 1e6 / requests
    return rps, p50, p99, per.get(gateway, (0, 0)), per[redis], load


def one_run(binary, redis, redis_port, path, script, args):
    """One run of the workload against `binary` (or redis-benchmark), a `Run` per request (per batch for
    redis-benchmark -P N)."""
    if binary == REDIS_BENCHMARK:
        # About as many requests as wrk makes in the same time.
        batch = args.pipeline or 1
        n = 90000 * args.seconds * batch
        run = lambda: redis_benchmark(redis_port, "get", 64, batch, n)  # noqa: E731
        rps, p50, p99, _, cost, load = measure_by_core(run, None, redis.pid)
        return Run(rps / batch, p50, p99, (0, 0), (cost[0] * batch, cost[1] * batch), load * batch)
    floor = binary.startswith(FLOOR)
    proc, port = start_gateway(binary.removeprefix(FLOOR), f"redis://127.0.0.1:{redis_port}",
                               *(["--bench-floor"] if floor else []))
    try:
        url = f"http://127.0.0.1:{port}{path}"
        wrk(url, 64, 1, script)  # warm-up: connections and allocator
        run = lambda: wrk(url, 64, args.seconds, script)  # noqa: E731
        rps, p50, p99, gateway, cost, load = measure_by_core(run, proc.pid, redis.pid)
    finally:
        stop(proc)
    return Run(rps, p50, p99, gateway, cost, load)


if __name__ == "__main__":
    main()
