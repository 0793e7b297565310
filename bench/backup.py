#!/usr/bin/env python3
"""Backup, export, restore and import times for an instance holding about N GiB, through `redisgate dev` (the
platform with its local provisioner) and the CLI, the way a user runs them.

The instance is filled with 1 KiB random values (N * 2^20 keys, a third with TTLs) over the admin user's connection
(`redis-cli --pipe`); then each step is timed end to end, as the CLI reports it done:
- backup: SYNC from the server into a scratch file, redis-check-rdb, upload to the backup store;
- export: download of that backup to a file;
- restore: download, SHA-256 check, redis-check-rdb, server restart loading the RDB, AOF rewrite;
- import: upload of the exported file, redis-check-rdb, restart, AOF rewrite.
Prints a markdown table; each step also checks the key count afterwards.
Usage: bench/backup.py CLI [--gib 1]
"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench import start_dev  # noqa: E402


def fill(port, password, keys):
    """`keys` keys of 1 KiB of random bytes (which RDB's compression cannot shrink), every third with a TTL,
    through redis-cli --pipe."""
    env = dict(os.environ, REDISCLI_AUTH=password)
    pipe = subprocess.Popen(["redis-cli", "-p", str(port), "--user", "redisgate-admin", "--no-auth-warning", "--pipe"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    for i in range(keys):
        key = b"key:%d" % i
        value = os.urandom(1024)
        if i % 3 == 0:
            pipe.stdin.write(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1024\r\n%s\r\n$2\r\nEX\r\n$5\r\n86400\r\n" % (len(key), key, value))
        else:
            pipe.stdin.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1024\r\n%s\r\n" % (len(key), key, value))
    pipe.stdin.close()
    if pipe.wait() != 0:
        sys.exit("redis-cli --pipe failed")


def dbsize(port, password):
    env = dict(os.environ, REDISCLI_AUTH=password)
    out = subprocess.run(["redis-cli", "-p", str(port), "--user", "redisgate-admin", "--no-auth-warning", "DBSIZE"],
                         check=True, capture_output=True, text=True, env=env)
    return int(out.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cli")
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    keys = int(args.gib * 1024 * 1024)
    dev, _, env, state = start_dev(args.cli, "redisgate-bench-backup-")
    try:
        def cli(*a):
            out = subprocess.run([args.cli, "--json", *a], env=env, check=True, capture_output=True, text=True)
            return json.loads(out.stdout)

        memory = f"{int(args.gib * 2 + 1)}gb"
        instance = cli("instance", "create", "bench-backup", "--memory", memory)["instance"]
        directory = glob.glob(os.path.join(state, "**", instance["id"]), recursive=True)[0]
        password = json.load(open(os.path.join(directory, "credentials.json")))["admin"]
        port = int(next(line.split()[1] for line in open(os.path.join(directory, "redis.conf")) if line.startswith("port ")))
        started = time.time()
        fill(port, password, keys)
        fill_s = time.time() - started
        assert dbsize(port, password) == keys
        rows = [("fill (redis-cli --pipe)", fill_s, None)]

        def step(name, *command):
            t = time.time()
            answer = cli(*command)
            rows.append((name, time.time() - t, answer))
            return answer

        backup = step("backup", "instance", "backup", "bench-backup")
        size = backup["size_bytes"]
        rdb = os.path.join(state, "bench.rdb")
        step("export (download)", "instance", "export", "bench-backup", "--backup", backup["id"], "-o", rdb)
        step("restore", "instance", "restore", "bench-backup", "--backup", backup["id"])
        assert dbsize(port, password) == keys, "the restore lost keys"
        step("import (upload)", "instance", "import", "bench-backup", rdb)
        assert dbsize(port, password) == keys, "the import lost keys"
        print(f"{keys} keys of 1 KiB, RDB {size / 2**20:.0f} MiB; `redisgate dev` on this machine\n")
        print("| step | seconds | MiB/s of RDB |")
        print("|---|---:|---:|")
        for name, seconds, _ in rows:
            rate = "" if name.startswith("fill") else f"{size / 2**20 / seconds:.0f}"
            print(f"| {name} | {seconds:.1f} | {rate} |")
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(timeout=60)


if __name__ == "__main__":
    main()
