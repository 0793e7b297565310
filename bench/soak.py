#!/usr/bin/env python3
"""Load and soak: mixed traffic at 256 connections against the platform (`redisgate dev`) on loopback.

Traffic (bench/soak.lua): 40% GET, 20% SET, 10% JSON INCR, 10% 5-command pipelines, 10% transactions,
10% PUBLISH, while 64 SSE subscribers listen on the published channel. Reports throughput, latency
percentiles, errors (must be zero) and the platform process's memory at the start and the end.
Usage: bench/soak.py --cli ~/.cache/redisgate/target/release/redisgate [--seconds 300]
"""
import argparse
import asyncio
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import start_dev  # noqa: E402


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def subscriber(host, port, path, token, counts, index, stop):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n".encode())
    await writer.drain()
    while not stop.is_set():
        try:
            line = await asyncio.wait_for(reader.readline(), 1.0)
        except asyncio.TimeoutError:
            continue
        if not line:
            counts[index] = -1  # the stream ended: an error
            return
        if line.startswith(b"data: message,"):
            counts[index] += 1
    writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--connections", type=int, default=256)
    args = parser.parse_args()

    dev, summary, _, _ = start_dev(args.cli, "redisgate-soak-")
    try:
        url, token = summary["rest_url"], summary["token"]
        host_port, prefix = re.match(r"http://([^/]+)(/.*)", url).groups()
        host, port = host_port.split(":")
        stop = asyncio.Event()
        counts = [0] * 64
        subscribers = [asyncio.create_task(subscriber(host, int(port), prefix + "/subscribe/soak", token, counts, i, stop))
                       for i in range(64)]
        await asyncio.sleep(2)
        rss_idle = rss_mib(dev.pid)
        samples = []

        async def sample():
            while True:
                await asyncio.sleep(30)
                samples.append(rss_mib(dev.pid))

        sampler = asyncio.create_task(sample())
        started = time.time()
        wrk = await asyncio.create_subprocess_exec(
            "wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "-s", os.path.join(HERE, "soak.lua"),
            f"http://{host_port}", "--", token, prefix, stdout=asyncio.subprocess.PIPE)
        out = (await wrk.communicate())[0].decode()
        elapsed = time.time() - started
        rss_end = rss_mib(dev.pid)
        sampler.cancel()
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*subscribers, return_exceptions=True)
    finally:
        dev.send_signal(2)
        dev.wait(timeout=30)

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    broken = sum(1 for c in counts if c < 0)
    print("| duration | connections | requests | req/s | p50 | p99 | HTTP errors | socket errors | SSE streams broken | messages per subscriber | RSS idle | RSS after 30 s | RSS end |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {elapsed:.0f} s | {args.connections} | {requests:,} | {rps:,.0f} | {p50} | {p99} | {errors} | "
          f"{socket_errors.group(1) if socket_errors else 'none'} | {broken} | {min(counts):,}–{max(counts):,} | "
          f"{rss_idle:.1f} MiB | {samples[0] if samples else rss_end:.1f} MiB | {rss_end:.1f} MiB |")
    print("\nRSS every 30 s (MiB): " + ", ".join(f"{x:.1f}" for x in samples))
    if errors or socket_errors or broken:
        raise SystemExit("errors during the soak run")


if __name__ == "__main__":
    asyncio.run(main())
