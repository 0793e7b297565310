#!/usr/bin/env python3
"""Side-by-side benchmark of the RedisGate gateway and raw redis-benchmark against the same Redis.

Layout (2-core machine): redis-server and the gateway pinned to core 0, load generators pinned to core 1.
For each scenario it reports requests/s, p50/p99 latency, and CPU-microseconds per request spent by the
gateway and by Redis (from utime+stime in /proc/<pid>/stat), plus the gateway's RSS. With `--floor`, it
adds the gateway's floor (the same binary with `--bench-floor`: its runtimes, accept loop, admission and
header timer answering a fixed body without Redis): how far each GET row is from the cost of serving HTTP
at all. `bench/workloads.py` compares every workload with the floor.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

TOKEN = "bench-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")
VALUE = "v" * 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dev(cli, prefix):
    """`redisgate dev` (the platform, its PostgreSQL, a first instance) in a fresh state directory, the CLI
    logged in there; returns (process, its JSON summary, the env for further CLI calls, the state directory).
    Stop it with SIGINT."""
    import json
    state = tempfile.mkdtemp(prefix=prefix)
    env = dict(os.environ, REDISGATE_CONFIG_DIR=os.path.join(state, "cli"), RUST_LOG="warn")
    dev = subprocess.Popen([cli, "--json", "dev", "--listen", "127.0.0.1:0", "--state-dir", state],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    return dev, json.loads(dev.stdout.readline()), env, state


def cpu_split(pid):
    """A process's (user, kernel) CPU seconds so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def rss_mib(pid):
    return status_mib(pid, "VmRSS").get("VmRSS", float("nan"))


def wait_port(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def pinned(cores, cmd):
    """`cmd` run on `cores` only (taskset), or anywhere when `cores` is None."""
    return ["taskset", "-c", cores, *cmd] if cores else cmd


def start_redis(redis_server, directory, *extra, cores="0", tls=None):
    """A redis-server without persistence, in `directory`, on a free port, once it listens: (process, port).
    With `tls` (the files of tls.certificates), it listens with TLS only and asks for client certificates."""
    port = free_port()
    listen = ["--port", str(port)]
    if tls:
        listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", tls("server.pem"), "--tls-key-file",
                  tls("server-key.pem"), "--tls-ca-cert-file", tls("ca.pem"), "--tls-auth-clients", "yes"]
    cmd = [redis_server, *listen, "--save", "", "--appendonly", "no", "--dir", directory, "--logfile", "", *extra]
    process = subprocess.Popen(pinned(cores, cmd), stdout=subprocess.DEVNULL)
    wait_port(port)
    return process, port


def start_gateway(binary, redis_url, *extra, workers=1, cores="0"):
    """The gateway `binary` in front of `redis_url` (with `extra` arguments) on a free port, once it listens:
    (process, port)."""
    return start_server(binary, "--redis-url", redis_url, "--token", TOKEN, *extra, workers=workers, cores=cores)


def start_server(binary, *arguments, workers=1, cores="0"):
    """The gateway `binary` with `arguments` (its instances: a Redis URL and token, or a config file) on a
    free port, once it listens: (process, port)."""
    port = free_port()
    cmd = [binary, "--listen", f"127.0.0.1:{port}", "--workers", str(workers), *arguments]
    process = subprocess.Popen(pinned(cores, cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return process, port


def stop(process):
    """Stops a server with SIGTERM (the gateway shuts down cleanly, and writes its profile when it has one)."""
    process.terminate()
    process.wait()


def status_mib(pid, *fields):
    """Fields of /proc/<pid>/status given in kB (VmRSS, RssAnon...), in MiB."""
    values = {}
    for line in open(f"/proc/{pid}/status"):
        name, _, rest = line.partition(":")
        if name in fields:
            values[name] = int(rest.split()[0]) / 1024
    return values


def to_ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not match:
        sys.exit(f"cannot read wrk's latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, conns, seconds, script=None):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency",
           "-H", f"Authorization: Bearer {TOKEN}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if "Latency Distribution" not in out:
        sys.exit(f"unexpected wrk output:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # Anchored at the start of a line: "99.50%" in the thread statistics must not read as the 50% row.
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"wrk saw {errors.group(1)} error responses:\n{out}")
    return rps, p50, p99, requests


def redis_benchmark(port, test, conns, pipeline, requests):
    cmd = ["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-t", test, "-c", str(conns),
           "-P", str(pipeline), "-n", str(requests), "-d", "100", "-r", "1", "--csv"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    row = [line for line in out.splitlines() if line.startswith(f'"{test.upper()}"')][0]
    values = [v.strip('"') for v in row.split(",")]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return float(values[1]), float(values[4]), float(values[6]), requests


def measure(run, pids):
    before = {pid: cpu_seconds(pid) for pid in pids}
    rps, p50, p99, requests = run()
    cost = {pid: (cpu_seconds(pid) - before[pid]) * 1e6 / requests for pid in pids}
    return rps, p50, p99, cost


def gateway_arguments():
    """The arguments every benchmark of one gateway build takes: the binary, seconds per run, redis-server."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True, help="the redisgate-gateway binary (a release build)")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per run")
    parser.add_argument("--redis-server", default="redis-server")
    return parser


def main():
    parser = gateway_arguments()
    parser.add_argument("--floor", action="store_true",
                        help="also measure the gateway's floor (--bench-floor): a fixed body, no Redis")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="redisgate-bench-")
    redis, redis_port = start_redis(args.redis_server, tmp)
    gateway, gw_port = start_gateway(args.gateway, f"redis://127.0.0.1:{redis_port}")
    try:
        subprocess.run(["redis-cli", "-p", str(redis_port), "set", "k", VALUE], check=True, capture_output=True)
        idle_rss = rss_mib(gateway.pid)
        base = f"http://127.0.0.1:{gw_port}"
        pipeline_script = os.path.join(tmp, "pipeline.lua")
        with open(pipeline_script, "w") as f:
            body = "[" + ",".join('["get","k"]' for _ in range(10)) + "]"
            f.write(f"wrk.method = \"POST\"\nwrk.body = '{body}'\n")
        rows = []
        pids = [gateway.pid, redis.pid]
        s = args.seconds
        # Rough request counts so redis-benchmark runs take about as long as wrk's.
        for conns in (1, 16, 64):
            for test in ("get", "set"):
                n = max(20000, int(90000 * s * (0.3 if conns == 1 else 1)))
                rps, p50, p99, cost = measure(lambda: redis_benchmark(redis_port, test, conns, 1, n), [redis.pid])
                rows.append((f"redis-benchmark {test.upper()} -P 1", conns, 1, rps, p50, p99, None, cost[redis.pid]))
                path = "/get/k" if test == "get" else f"/set/k/{VALUE}"
                rps, p50, p99, cost = measure(lambda: wrk(base + path, conns, s), pids)
                rows.append((f"gateway GET {path[:12]}{'…' if len(path) > 12 else ''}", conns, 1, rps, p50, p99,
                             cost[gateway.pid], cost[redis.pid]))
        for conns in (16, 64):
            n = int(600000 * s)
            rps, p50, p99, cost = measure(lambda: redis_benchmark(redis_port, "get", conns, 10, n), [redis.pid])
            # redis-benchmark counts commands, not round trips: a "request" here is one batch of 10.
            rows.append(("redis-benchmark GET -P 10", conns, 10, rps / 10, p50, p99, None, cost[redis.pid]))
            rps, p50, p99, cost = measure(lambda: wrk(base + "/pipeline", conns, s, pipeline_script), pids)
            rows.append(("gateway POST /pipeline ×10 GET", conns, 10, rps, p50, p99,
                         cost[gateway.pid] / 10 if cost[gateway.pid] else 0, cost[redis.pid] / 10))
        loaded_rss = rss_mib(gateway.pid)
        if args.floor:
            floor, floor_port = start_gateway(args.gateway, f"redis://127.0.0.1:{redis_port}", "--bench-floor")
            try:
                for conns in (1, 16, 64):
                    rps, p50, p99, cost = measure(lambda: wrk(f"http://127.0.0.1:{floor_port}/get/k", conns, s),
                                                  [floor.pid])
                    rows.append(("HTTP floor: fixed body, no Redis", conns, 1, rps, p50, p99, cost[floor.pid], 0.0))
            finally:
                stop(floor)
        # The same requests against an instance with every limit set (none of them reached): the cost of
        # enforcing limits and counting usage.
        config = os.path.join(tmp, "limited.toml")
        with open(config, "w") as f:
            f.write(f'[[instance]]\nname = "limited"\nredis_url = "redis://127.0.0.1:{redis_port}"\n'
                    f'token = "{TOKEN}"\n[instance.limits]\nmax_requests_per_second = 100000000\n'
                    'max_daily_requests = 1000000000000\nmax_concurrent_connections = 100000\n'
                    'max_request_size = 1048576\nmax_record_size = 65536\nmax_key_size = 1024\n')
        limited, limited_port = start_server(args.gateway, "--config", config)
        try:
            limited_base = f"http://127.0.0.1:{limited_port}"
            rps, p50, p99, cost = measure(lambda: wrk(limited_base + "/get/k", 64, s), [limited.pid, redis.pid])
            rows.append(("gateway GET /get/k, all limits set", 64, 1, rps, p50, p99, cost[limited.pid], cost[redis.pid]))
            rps, p50, p99, cost = measure(lambda: wrk(limited_base + "/pipeline", 64, s, pipeline_script),
                                          [limited.pid, redis.pid])
            rows.append(("gateway POST /pipeline ×10, all limits set", 64, 10, rps, p50, p99,
                         cost[limited.pid] / 10 if cost[limited.pid] else 0, cost[redis.pid] / 10))
        finally:
            stop(limited)
    finally:
        gateway.terminate()
        redis.terminate()
        gateway.wait()
        redis.wait()

    print(f"redis: {subprocess.run([args.redis_server, '--version'], capture_output=True, text=True).stdout.split()[2]}"
          f", gateway --workers 1; gateway+redis on core 0, load on core 1; {s}s per wrk run\n")
    print("| scenario | conns | cmds/req | req/s | commands/s | p50 ms | p99 ms | gateway CPU-µs/cmd | redis CPU-µs/cmd |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, conns, per, rps, p50, p99, gw_cost, redis_cost in rows:
        gw = "—" if gw_cost is None else f"{gw_cost:.1f}"
        print(f"| {name} | {conns} | {per} | {rps:,.0f} | {rps * per:,.0f} | {p50:.3f} | {p99:.3f} | {gw} | {redis_cost:.1f} |")
    print(f"\ngateway RSS: {idle_rss:.1f} MiB idle, {loaded_rss:.1f} MiB after the run")
    by = {(r[0], r[1]): r[3] for r in rows}
    for conns in (1, 16, 64):
        rb = by[("redis-benchmark GET -P 1", conns)]
        gw = by[("gateway GET /get/k", conns)]
        floor = by.get(("HTTP floor: fixed body, no Redis", conns))
        versus_floor = f", gateway / HTTP floor = {gw / floor:.2f}" if floor else ""
        print(f"GET at {conns:>2} connections: gateway / redis-benchmark -P 1 = {gw / rb:.2f}{versus_floor}")


if __name__ == "__main__":
    main()
