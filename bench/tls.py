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
from bench import TOKEN, VALUE, free_port, measure, wait_port, wrk  # noqa: E402


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
    plain_port, tls_port = free_port(), free_port()
    servers = [
        subprocess.Popen(["taskset", "-c", "0", args.redis_server, "--port", str(plain_port), "--save", "",
                          "--appendonly", "no", "--dir", tmp, "--logfile", ""], stdout=subprocess.DEVNULL),
        subprocess.Popen(["taskset", "-c", "0", args.redis_server, "--port", "0", "--tls-port", str(tls_port),
                          "--tls-cert-file", p("server.pem"), "--tls-key-file", p("server-key.pem"),
                          "--tls-ca-cert-file", p("ca.pem"), "--tls-auth-clients", "yes", "--save", "",
                          "--appendonly", "no", "--dir", tmp, "--logfile", ""], stdout=subprocess.DEVNULL),
    ]
    wait_port(plain_port)
    wait_port(tls_port)
    subprocess.run(["redis-cli", "-p", str(plain_port), "set", "k", VALUE], check=True, capture_output=True)
    subprocess.run(["redis-cli", "--tls", "--cacert", p("ca.pem"), "--cert", p("client.pem"), "--key",
                    p("client-key.pem"), "-p", str(tls_port), "set", "k", VALUE], check=True, capture_output=True)
    https = ["--tls-cert", p("server.pem"), "--tls-key", p("server-key.pem")]
    rediss = ["--redis-url", f"rediss://127.0.0.1:{tls_port}", "--redis-ca-cert", p("ca.pem"),
              "--redis-client-cert", p("client.pem"), "--redis-client-key", p("client-key.pem")]
    plain = ["--redis-url", f"redis://127.0.0.1:{plain_port}"]
    rows = {
        "HTTP → Redis": ("http", plain),
        "HTTPS → Redis": ("https", plain + https),
        "HTTP → Redis over mTLS": ("http", rediss),
        "HTTPS → Redis over mTLS": ("https", rediss + https),
    }
    results = {name: [] for name in rows}
    try:
        for _ in range(args.rounds):
            for name, (scheme, flags) in rows.items():
                port = free_port()
                gateway = subprocess.Popen(["taskset", "-c", "0", args.gateway, "--listen", f"127.0.0.1:{port}",
                                            "--token", TOKEN, "--workers", "1", *flags], stderr=subprocess.DEVNULL)
                try:
                    wait_port(port)
                    url = f"{scheme}://127.0.0.1:{port}/get/k"
                    wrk(url, 64, 1)
                    rps, p50, p99, cost = measure(lambda: wrk(url, 64, args.seconds), [gateway.pid])
                    results[name].append((rps, p50, p99, cost[gateway.pid]))
                finally:
                    gateway.terminate()
                    gateway.wait()
    finally:
        for server in servers:
            server.terminate()
            server.wait()
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
