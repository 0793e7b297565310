#!/usr/bin/env python3
"""The cost of TLS at each end of the gateway, side by side in one run.

Four rows, `GET /get/k` at 64 keep-alive connections (the same core layout as bench.py: Redis and the
gateway on core 0, wrk on core 1), rounds interleaved so the machine's drift hits every row alike:
plain HTTP to plain Redis; HTTPS (`--tls-cert`) to plain Redis; plain HTTP to a TLS-only Redis with mTLS
(`--redis-ca-cert`, `--redis-client-cert`); HTTPS to TLS. Certificates are made with openssl for the run.
Usage: bench/tls.py GATEWAY [--rounds 3] [--seconds 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench import VALUE, measure, start_gateway, start_redis, stop, wrk  # noqa: E402


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def certificates(tmp):
    """A CA, a server certificate for 127.0.0.1, and a client certificate, as PEM files in `tmp`."""
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=bench-ca", "-keyout", p("ca-key.pem"), "-out", p("ca.pem"))
    ext = p("ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
                "-keyout", p(f"{name}-key.pem"), "-out", p(f"{name}.csr"))
        openssl("x509", "-req", "-in", p(f"{name}.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca-key.pem"),
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", p(f"{name}.pem"))
    return p


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gateway")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--redis-server", default="redis-server")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="redisgate-bench-tls-")
    p = certificates(tmp)
    servers = [start_redis(args.redis_server, tmp), start_redis(args.redis_server, tmp, tls=p)]
    (_, plain_port), (_, tls_port) = servers
    subprocess.run(["redis-cli", "-p", str(plain_port), "set", "k", VALUE], check=True, capture_output=True)
    subprocess.run(["redis-cli", "--tls", "--cacert", p("ca.pem"), "--cert", p("client.pem"), "--key",
                    p("client-key.pem"), "-p", str(tls_port), "set", "k", VALUE], check=True, capture_output=True)
    https = ["--tls-cert", p("server.pem"), "--tls-key", p("server-key.pem")]
    mtls = ["--redis-ca-cert", p("ca.pem"), "--redis-client-cert", p("client.pem"), "--redis-client-key",
            p("client-key.pem")]
    plain, rediss = f"redis://127.0.0.1:{plain_port}", f"rediss://127.0.0.1:{tls_port}"
    rows = {
        "HTTP → Redis": ("http", plain, []),
        "HTTPS → Redis": ("https", plain, https),
        "HTTP → Redis over mTLS": ("http", rediss, mtls),
        "HTTPS → Redis over mTLS": ("https", rediss, mtls + https),
    }
    results = {name: [] for name in rows}
    try:
        for _ in range(args.rounds):
            for name, (scheme, redis_url, flags) in rows.items():
                gateway, port = start_gateway(args.gateway, redis_url, *flags)
                try:
                    url = f"{scheme}://127.0.0.1:{port}/get/k"
                    wrk(url, 64, 1)
                    rps, p50, p99, cost = measure(lambda: wrk(url, 64, args.seconds), [gateway.pid])
                    results[name].append((rps, p50, p99, cost[gateway.pid]))
                finally:
                    stop(gateway)
    finally:
        for server, _ in servers:
            stop(server)
    print(f"GET /get/k, 64 keep-alive connections, gateway --workers 1; medians of {args.rounds} interleaved "
          f"rounds of {args.seconds} s\n")
    print("| path | req/s | p50 ms | p99 ms | gateway CPU-µs/request | vs. plain |")
    print("|---|---:|---:|---:|---:|---:|")
    base = statistics.median(r[0] for r in results["HTTP → Redis"])
    for name, runs in results.items():
        rps, p50, p99, cpu = (statistics.median(r[i] for r in runs) for i in range(4))
        print(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.1f} | {rps / base:.2f} |")


if __name__ == "__main__":
    main()
