#!/usr/bin/env python3
"""What the gateway costs on the traffic clients send, each workload against the gateway's own floor.

The floor is the same binary (`redisgate-gateway --bench-floor`: the same runtimes, accept loop, admission,
header timer and middleware-free router) answering every request with a fixed body after reading the
request's body, without Redis, tokens or limits. Each workload runs against the gateway and then the floor,
in the same run, with the same load generator; the table gives the gateway's CPU per request as a multiple
of the floor's. Redis and the server under test are pinned to core 0, the load generator to core 1.

Workloads:
- GET /get/k of a 100-byte value;
- the @upstash/redis auto-pipeline mix: POST /pipeline of 5 commands, 80 % GET and 20 % SET, values of
  100 B and 4 KiB half and half, with the SDK's headers (Upstash-Encoding: base64, upstash-sync-token,
  the telemetry headers);
- POST /multi-exec of 3 commands (SET, GET, INCR);
- SET with a 4 KiB POST body (POST /set/big, the value as the body);
- GET /get/k over HTTP/2 without TLS (h2c, h2load);
- GET /get/k with 1 worker, 2 workers on one core, and 2 workers on both cores (then shared with wrk).

webdis (Debian's package, built from its source), the HTTP interface to Redis the issue compares with, serves
`GET /GET/k` in the same layout (one thread, as the gateway's one worker; core 0, with Redis): the
auto-pipeline mix's commands/s are given as a multiple of its GET's.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (TOKEN, VALUE, free_port, gateway_arguments, measure, pinned, redis_benchmark,  # noqa: E402
                   rss_mib, start_gateway, start_redis, stop, wait_port, wrk)

BIG = "b" * 4096
SDK_HEADERS = {
    "Content-Type": "application/json",
    "Upstash-Encoding": "base64",
    "upstash-sync-token": "0f3c2a9d8e7b6a5f4e3d2c1b0a998877",
    "Upstash-Telemetry-Runtime": "node@v22.11.0",
    "Upstash-Telemetry-Platform": "unknown",
    "Upstash-Telemetry-Sdk": "@upstash/redis@v1.35.0",
}
KEYS = 100


def lua_string(text):
    return "[==[" + text + "]==]"


def auto_pipeline_script(path, rng):
    """A wrk script cycling through 256 pipelines of 5 commands drawn as the SDK's mix."""
    bodies = []
    for _ in range(256):
        commands = []
        for _ in range(5):
            size = rng.choice(("s", "l"))
            key = f"{size}:{rng.randrange(KEYS)}"
            if rng.random() < 0.8:
                commands.append(f'["get","{key}"]')
            else:
                commands.append(f'["set","{key}","{VALUE if size == "s" else BIG}"]')
        bodies.append("[" + ",".join(commands) + "]")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        for name, value in SDK_HEADERS.items():
            f.write(f'wrk.headers["{name}"] = "{value}"\n')
        f.write("local bodies = {\n" + ",\n".join(lua_string(b) for b in bodies) + "\n}\n")
        f.write("local n = 0\n"
                "request = function()\n"
                "  n = n % #bodies + 1\n"
                "  return wrk.format(nil, nil, nil, bodies[n])\n"
                "end\n")


def post_script(path, body, content_type="application/json"):
    with open(path, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "{content_type}"\n'
                f"wrk.body = {lua_string(body)}\n")


def h2load(url, conns, seconds):
    """GET over h2c, one stream at a time per connection (as wrk's HTTP/1.1 rows)."""
    cmd = ["taskset", "-c", "1", "h2load", "-D", str(seconds), "-c", str(conns), "-m", "1",
           "-H", f"authorization: Bearer {TOKEN}", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    if not done or done.group(1) != done.group(2):
        sys.exit(f"h2load saw failed requests:\n{out}")
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out).group(1)
    value, unit = re.match(r"([\d.]+)(us|ms|s)$", mean).groups()
    mean_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    # h2load reports no percentiles: the mean stands in both columns, marked in the table.
    return rps, mean_ms, float("nan"), int(done.group(1))


def webdis_get(directory, redis_port, conns, seconds):
    """webdis (one thread, on core 0) in front of the Redis on `redis_port`, measured on `GET /GET/k`."""
    port = free_port()
    config = os.path.join(directory, "webdis.json")
    with open(config, "w") as f:
        json.dump({"redis_host": "127.0.0.1", "redis_port": redis_port, "http_host": "127.0.0.1",
                   "http_port": port, "threads": 1, "daemonize": False, "database": 0, "verbosity": 0,
                   "logfile": os.path.join(directory, "webdis.log")}, f)
    webdis = subprocess.Popen(pinned("0", ["webdis", config]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        rps, p50, p99, cost = measure(lambda: wrk(f"http://127.0.0.1:{port}/GET/k", conns, seconds), [webdis.pid])
        return rps, p50, p99, cost[webdis.pid]
    finally:
        stop(webdis)


def main():
    parser = gateway_arguments()
    parser.add_argument("--conns", type=int, default=64)
    args = parser.parse_args()
    s, c = args.seconds, args.conns

    tmp = tempfile.mkdtemp(prefix="redisgate-workloads-")
    rng = random.Random(29)
    scripts = {name: os.path.join(tmp, f"{name}.lua") for name in ("mix", "pipeline", "multi", "big")}
    auto_pipeline_script(scripts["mix"], rng)
    post_script(scripts["pipeline"], "[" + ",".join('["get","k"]' for _ in range(10)) + "]")
    post_script(scripts["multi"], f'[["set","mx","{VALUE}"],["get","mx"],["incr","mc"]]')
    post_script(scripts["big"], BIG, "application/octet-stream")

    redis, redis_port = start_redis(args.redis_server, tmp)
    redis_url = f"redis://127.0.0.1:{redis_port}"
    seed = "".join(f"SET s:{i} {VALUE}\nSET l:{i} {BIG}\n" for i in range(KEYS)) + f"SET k {VALUE}\n"
    subprocess.run(["redis-cli", "-p", str(redis_port)], input=seed, text=True, check=True, capture_output=True)

    workloads = [
        # name, commands per request, how to load it, server options
        ("GET /get/k", 1, lambda url: wrk(url + "/get/k", c, s), {}),
        ("@upstash/redis auto-pipeline mix (5 cmds)", 5, lambda url: wrk(url + "/pipeline", c, s, scripts["mix"]), {}),
        ("POST /pipeline ×10 GET", 10, lambda url: wrk(url + "/pipeline", c, s, scripts["pipeline"]), {}),
        ("POST /multi-exec ×3", 3, lambda url: wrk(url + "/multi-exec", c, s, scripts["multi"]), {}),
        ("SET, 4 KiB POST body", 1, lambda url: wrk(url + "/set/big", c, s, scripts["big"]), {}),
        ("GET /get/k over h2c (h2load)", 1, lambda url: h2load(url + "/get/k", c, s), {}),
        ("GET /get/k, 2 workers on core 0", 1, lambda url: wrk(url + "/get/k", c, s), {"workers": 2}),
        ("GET /get/k, 2 workers on cores 0-1 (wrk shares core 1)", 1, lambda url: wrk(url + "/get/k", c, s),
         {"workers": 2, "cores": "0,1"}),
    ]
    rows = []
    try:
        rb = measure(lambda: redis_benchmark(redis_port, "get", c, 1, int(90000 * s)), [redis.pid])
        webdis = webdis_get(tmp, redis_port, c, s)
        gateway, _ = start_gateway(args.gateway, redis_url)
        idle_rss = rss_mib(gateway.pid)
        stop(gateway)
        for name, per, load, options in workloads:
            results = []
            for floor in (False, True):
                server, port = start_gateway(args.gateway, redis_url, *(["--bench-floor"] if floor else []), **options)
                try:
                    results.append(measure(lambda: load(f"http://127.0.0.1:{port}"), [server.pid, redis.pid]))
                    pid = server.pid
                finally:
                    stop(server)
                results[-1] = (*results[-1][:3], results[-1][3][pid], results[-1][3][redis.pid])
            rows.append((name, per, results[0], results[1]))
    finally:
        stop(redis)

    print(f"redis: {subprocess.run([args.redis_server, '--version'], capture_output=True, text=True).stdout.split()[2]}"
          f"; server and redis on core 0, load on core 1 (unless the row says); {c} connections; {s}s per run\n")
    print(f"redis-benchmark GET -P 1: {rb[0]:,.0f} req/s, p50 {rb[1]:.3f} ms, p99 {rb[2]:.3f} ms, "
          f"redis {rb[3][redis.pid]:.1f} CPU-µs/req")
    print(f"webdis GET /GET/k (one thread): {webdis[0]:,.0f} req/s, p50 {webdis[1]:.3f} ms, p99 {webdis[2]:.3f} ms, "
          f"webdis {webdis[3]:.1f} CPU-µs/req\n")
    print("| workload | cmds/req | req/s | commands/s | p50 ms | p99 ms | gateway CPU-µs/req | floor req/s "
          "| floor CPU-µs/req | gateway ÷ floor CPU | redis CPU-µs/req |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, per, (rps, p50, p99, cpu, redis_cpu), (f_rps, _, _, f_cpu, _) in rows:
        p99_text = "—" if p99 != p99 else f"{p99:.3f}"
        print(f"| {name} | {per} | {rps:,.0f} | {rps * per:,.0f} | {p50:.3f} | {p99_text} | {cpu:.1f} | "
              f"{f_rps:,.0f} | {f_cpu:.1f} | {cpu / f_cpu:.2f} | {redis_cpu:.1f} |")
    get, mix = rows[0][2][0], rows[1][2][0] * rows[1][1]
    print(f"\nGET /get/k ÷ redis-benchmark GET -P 1 = {get / rb[0]:.2f}; GET /get/k ÷ webdis GET = "
          f"{get / webdis[0]:.2f}; auto-pipeline mix commands/s ÷ webdis GET = {mix / webdis[0]:.2f}; "
          f"idle RSS {idle_rss:.1f} MiB")


if __name__ == "__main__":
    main()
