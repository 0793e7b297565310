#!/usr/bin/env python3
"""Where an idle gateway's resident memory is: its VmRSS, its anonymous part, and which sections of the
binary are mapped (from /proc/<pid>/pagemap), once the gateway listens and before any request.

Usage: bench/resident.py GATEWAY [GATEWAY ...] [--runs 3] [--evict]
With --evict, the binary is dropped from the page cache before each start (posix_fadvise DONTNEED), as on a
machine that has not run it lately. Needs root for pagemap's page frame bits (the present bit is enough).
"""
import argparse
import collections
import os
import shutil
import struct
import subprocess
import tempfile

from bench import start_gateway, start_redis, status_mib, stop

PAGE = 4096


def sections(binary):
    """(start, end, name) of each allocated section, as file offsets."""
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 6 and parts[0].startswith("["):
            try:
                address, offset, size = int(parts[3], 16), int(parts[4], 16), int(parts[5], 16)
            except ValueError:
                continue
            if address and size and parts[2] != "NOBITS":
                found.append((offset, offset + size, parts[1]))
    return found


def resident_offsets(pid, binary):
    """File offsets of the binary's pages that are mapped in the process."""
    real = os.path.realpath(binary)
    offsets = []
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in open(f"/proc/{pid}/maps"):
            fields = line.split()
            if len(fields) < 6 or os.path.realpath(fields[5]) != real:
                continue
            low, high = (int(x, 16) for x in fields[0].split("-"))
            for address in range(low, high, PAGE):
                pagemap.seek(address // PAGE * 8)
                if struct.unpack("<Q", pagemap.read(8))[0] >> 63:
                    offsets.append(int(fields[2], 16) + address - low)
    return offsets


def measure(binary, layout, redis_port, evict):
    if evict:
        fd = os.open(binary, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    gateway, _ = start_gateway(binary, f"redis://127.0.0.1:{redis_port}", cores=None)
    try:
        memory = status_mib(gateway.pid, "VmRSS", "RssAnon")
        offsets = resident_offsets(gateway.pid, binary)
    finally:
        stop(gateway)
    per_section = collections.Counter()
    for offset in offsets:
        name = next((n for lo, hi, n in layout if lo // PAGE <= offset // PAGE <= (hi - 1) // PAGE),
                    "other")
        per_section[name] += PAGE / 2**20
    return memory, per_section


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gateways", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--evict", action="store_true")
    parser.add_argument("--redis-server", default="redis-server")
    args = parser.parse_args()
    layouts = {binary: sections(binary) for binary in args.gateways}
    tmp = tempfile.mkdtemp(prefix="redisgate-resident-")
    redis, redis_port = start_redis(args.redis_server, tmp, cores=None)
    try:
        print("| gateway | VmRSS MiB | RssAnon MiB | the binary's resident MiB, by section |")
        print("|---|---:|---:|---|")
        for _ in range(args.runs):
            for binary in args.gateways:  # interleaved, so the page cache's drift hits all alike
                memory, per_section = measure(binary, layouts[binary], redis_port, args.evict)
                top = ", ".join(f"{name} {mib:.2f}" for name, mib in per_section.most_common(6))
                print(f"| {binary} | {memory['VmRSS']:.1f} | {memory['RssAnon']:.2f} | "
                      f"{sum(per_section.values()):.1f}: {top} |")
    finally:
        stop(redis)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
