#!/usr/bin/env python3
"""The training run of the profile-guided release build (scripts/build-release.sh).

Drives a gateway built with `-Cprofile-generate` through the traffic clients send, so that the release build
knows which code is hot: GET by path, path commands with options, POST / of one command, the @upstash/redis
auto-pipeline mix (base64, sync token), /pipeline of 10, a pipeline of varied commands and reply types,
/multi-exec, a 4 KiB SET body, h2c, 2 workers, HTTPS to a Redis over mutual TLS, and pipelines to a Redis
Cluster of three masters. Code no workload reaches (errors, the platform, Sentinel, subscriptions) is
optimised for size instead of speed. The counts are written when the gateway exits, so it is stopped with
SIGTERM and awaited.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import VALUE, gateway_arguments, start_gateway, start_redis, stop, wrk  # noqa: E402
from cluster import KEYS as CLUSTER_KEYS, form, start_master  # noqa: E402
from tls import certificates  # noqa: E402
from workloads import BIG, KEYS, auto_pipeline_script, h2load, post_script  # noqa: E402

VARIED = [
    ["hset", "h", "a", "1", "b", "2"], ["hgetall", "h"], ["lpush", "l", "x", "y"], ["lrange", "l", "0", "9"],
    ["incr", "c"], ["exists", "k", "h"], ["ttl", "k"], ["zadd", "z", "1", "m", "2", "n"],
    ["zrange", "z", "0", "-1", "withscores"], ["mget", "k", "nothing"], ["set", "e", "v", "ex", "100"],
    ["del", "e"], ["sadd", "s", "a", "b"], ["smembers", "s"], ["expire", "k", "1000"], ["get", "nothing"],
]


def main():
    args = gateway_arguments().parse_args()
    s, c = args.seconds, 32
    tmp = tempfile.mkdtemp(prefix="redisgate-train-")
    scripts = {name: os.path.join(tmp, f"{name}.lua") for name in ("mix", "one", "pipeline", "varied", "multi", "big")}
    auto_pipeline_script(scripts["mix"], random.Random(29))
    post_script(scripts["one"], '["set","one","' + VALUE + '"]')
    post_script(scripts["pipeline"], "[" + ",".join('["get","k"]' for _ in range(10)) + "]")
    post_script(scripts["varied"], "[" + ",".join('["' + '","'.join(cmd) + '"]' for cmd in VARIED) + "]")
    post_script(scripts["multi"], f'[["set","mx","{VALUE}"],["get","mx"],["incr","mc"]]')
    post_script(scripts["big"], BIG, "application/octet-stream")

    redis, redis_port = start_redis(args.redis_server, tmp, cores=None)
    try:
        seed = "".join(f"SET s:{i} {VALUE}\nSET l:{i} {BIG}\n" for i in range(KEYS)) + f"SET k {VALUE}\n"
        subprocess.run(["redis-cli", "-p", str(redis_port)], input=seed, text=True, check=True, capture_output=True)
        loads = [
            lambda url: wrk(url + "/get/k", c, s),
            lambda url: wrk(url + "/set/p/" + VALUE + "/EX/1000", c, s),
            lambda url: wrk(url + "/", c, s, scripts["one"]),
            lambda url: wrk(url + "/pipeline", c, s, scripts["mix"]),
            lambda url: wrk(url + "/pipeline", c, s, scripts["pipeline"]),
            lambda url: wrk(url + "/pipeline", c, s, scripts["varied"]),
            lambda url: wrk(url + "/multi-exec", c, s, scripts["multi"]),
            lambda url: wrk(url + "/set/big", c, s, scripts["big"]),
            lambda url: h2load(url + "/get/k", c, s),
        ]
        run(args, f"redis://127.0.0.1:{redis_port}", [(1, loads), (2, loads[:1])])
        train_tls(args, tmp, s, c, scripts["pipeline"])
        train_cluster(args, tmp, s, c)
    finally:
        stop(redis)
        shutil.rmtree(tmp, ignore_errors=True)


def train_tls(args, tmp, s, c, pipeline):
    """GET and /pipeline over HTTPS, to a TLS-only Redis that asks for a client certificate (as bench/tls.py)."""
    p = certificates(tmp)
    redis, port = start_redis(args.redis_server, tmp, cores=None, tls=p)
    try:
        tls = ["--tls-cert", p("server.pem"), "--tls-key", p("server-key.pem"), "--redis-ca-cert", p("ca.pem"),
               "--redis-client-cert", p("client.pem"), "--redis-client-key", p("client-key.pem")]
        run(args, f"rediss://127.0.0.1:{port}", [(1, [lambda base: wrk(base + "/set/k/" + VALUE, c, s),
                                                      lambda base: wrk(base + "/pipeline", c, s, pipeline)])],
            scheme="https", extra=tls)
    finally:
        stop(redis)


def run(args, redis_url, phases, scheme="http", extra=()):
    """Each (workers, loads) phase against a gateway of its own, stopped cleanly so that it writes its counts."""
    for workers, loads in phases:
        gateway, port = start_gateway(args.gateway, redis_url, *extra, workers=workers, cores=None)
        try:
            for load in loads:
                load(f"{scheme}://127.0.0.1:{port}")
        finally:
            stop(gateway)
        if gateway.returncode != 0:
            sys.exit(f"the gateway exited with {gateway.returncode}: its profile may be missing")


def train_cluster(args, tmp, s, c):
    """/pipeline of 10 GETs over a three-master cluster (keys in all three), as bench/cluster.py loads it."""
    servers = [start_master(args.redis_server, tmp) for _ in range(3)]
    try:
        ports = [port for _, port in servers]
        form(ports)
        url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
        pipeline = os.path.join(tmp, "cluster.lua")
        post_script(pipeline, "[" + ",".join(f'["get","{k}"]' for k in CLUSTER_KEYS) + "]")
        seed = os.path.join(tmp, "cluster-seed.lua")
        post_script(seed, "[" + ",".join(f'["set","{k}","{VALUE}"]' for k in CLUSTER_KEYS) + "]")
        run(args, url, [(1, [lambda base: wrk(base + "/pipeline", c, s, seed),
                             lambda base: wrk(base + "/pipeline", c, s, pipeline)])])
    finally:
        for process, _ in servers:
            stop(process)


if __name__ == "__main__":
    main()
