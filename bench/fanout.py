#!/usr/bin/env python3
"""SSE fan-out at scale: N subscribers of one channel on one gateway worker.

Reports the gateway's memory per subscriber, how many Redis connections they cost, and how long one
PUBLISH takes to reach all of them. Loopback only; everything stops by itself.
Usage: bench/fanout.py --gateway target/release/redisgate-gateway [--subscribers 10000]
"""
import argparse
import asyncio
import resource
import socket
import subprocess
import tempfile
import time

TOKEN = "fanout-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=True).stdout.strip()


async def wait_port(port):
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


async def subscribe(port, channel):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST /subscribe/{channel} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                 "Accept: text/event-stream\r\nContent-Length: 0\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(f"data: subscribe,{channel},1\n\n".encode())
    return reader, writer


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--subscribers", type=int, default=10000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = min(args.subscribers, hard - 200)

    tmp = tempfile.mkdtemp(prefix="redisgate-fanout-")
    redis_port, gw_port = free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "", "--dir", tmp, "--logfile", ""],
                             stdout=subprocess.DEVNULL)
    gateway = subprocess.Popen([args.gateway, "--listen", f"127.0.0.1:{gw_port}", "--redis-url",
                                f"redis://127.0.0.1:{redis_port}", "--token", TOKEN, "--workers", "1",
                                "--sse-keepalive-secs", "300", "--idle-timeout-secs", "600",
                                "--max-connections-per-address", "100000"], stderr=subprocess.DEVNULL)
    try:
        await wait_port(redis_port)
        await wait_port(gw_port)
        first = await subscribe(gw_port, "warmup")
        first[1].close()
        before = rss_kib(gateway.pid)
        clients_before = int(redis_cli(redis_port, "info", "clients").split("connected_clients:")[1].split()[0])
        started = time.time()
        streams = []
        for start in range(0, n, 500):
            streams += await asyncio.gather(*(subscribe(gw_port, "fan") for _ in range(min(500, n - start))))
        opened = time.time() - started
        after = rss_kib(gateway.pid)
        clients_after = int(redis_cli(redis_port, "info", "clients").split("connected_clients:")[1].split()[0])
        numsub = redis_cli(redis_port, "pubsub", "numsub", "fan").split()[-1]
        sent = time.time()
        receivers = redis_cli(redis_port, "publish", "fan", "hello")
        await asyncio.gather(*(r.readuntil(b"data: message,fan,hello\n\n") for r, _ in streams))
        delivered = time.time() - sent
        for _, w in streams:
            w.close()
        print("| subscribers | gateway RSS before | after | per subscriber | Redis connections added | Redis subscriptions | PUBLISH receivers | open time | delivery to all |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| {n:,} | {before / 1024:.1f} MiB | {after / 1024:.1f} MiB | {(after - before) / n:.1f} KiB | "
              f"{clients_after - clients_before} | {numsub} | {receivers} | {opened:.1f} s | {delivered * 1000:.0f} ms |")
    finally:
        gateway.terminate()
        redis.terminate()
        gateway.wait()
        redis.wait()


if __name__ == "__main__":
    asyncio.run(main())
