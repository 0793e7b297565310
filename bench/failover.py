#!/usr/bin/env python3
"""What a failover costs a client of the gateway: writes through it at a steady rate while the master is
killed (SIGKILL), with Redis Sentinel (down-after-milliseconds 1000, quorum 2 of 3) choosing the replica.

Prints, per run: how long writes failed (from the kill to the first write that succeeded again), the
failed requests by status, requests slower than 1 s, and acknowledged writes missing afterwards (each
write is `SET w:<n> <n>`; after the run every acknowledged n is read back from the new master).

Two setups:
- `bench/failover.py GATEWAY`: a master, a replica and three sentinels started here, and the gateway binary
  in front of them with a `redis+sentinel://` URL;
- `bench/failover.py --platform CLI [--min-replicas-to-write 1]`: `redisgate dev` (the platform), and a
  replicated instance (one replica) that its local provisioner runs, created with the CLI; the master it
  names is the one killed.
Usage: bench/failover.py GATEWAY [--runs 3] [--rate 200] [--redis-server redis-server]
       bench/failover.py --platform CLI [--runs 3] [--rate 200] [--min-replicas-to-write N]
"""
import glob
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench import TOKEN, free_port, start_dev, wait_port  # noqa: E402


def redis(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def start_cluster(binary, tmp):
    """A master, a replica and three sentinels; returns (processes, master port, replica port, url)."""
    master, replica = free_port(), free_port()
    common = ["--save", "", "--appendonly", "no", "--logfile", "", "--bind", "127.0.0.1"]
    procs = [subprocess.Popen([binary, "--port", str(master), "--dir", tmp, *common], stdout=subprocess.DEVNULL)]
    wait_port(master)
    replica_dir = os.path.join(tmp, "replica")
    os.makedirs(replica_dir)
    procs.append(subprocess.Popen([binary, "--port", str(replica), "--dir", replica_dir, "--replicaof", "127.0.0.1",
                                   str(master), *common], stdout=subprocess.DEVNULL))
    wait_port(replica)
    deadline = time.time() + 30
    # The first sync waits for repl-diskless-sync-delay (5 s): until then the replica has nothing.
    while "master_link_status:up" not in redis(replica, "INFO", "replication"):
        if time.time() > deadline:
            sys.exit("the replica did not sync")
        time.sleep(0.05)
    sentinels = []
    for i in range(3):
        port = free_port()
        conf = os.path.join(tmp, f"sentinel-{port}.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\ndir {tmp}\nsentinel monitor m 127.0.0.1 {master} 2\n"
                    "sentinel down-after-milliseconds m 1000\nsentinel failover-timeout m 5000\n")
        procs.append(subprocess.Popen([binary, conf, "--sentinel"], stdout=subprocess.DEVNULL))
        wait_port(port)
        sentinels.append(port)
    deadline = time.time() + 30
    for port in sentinels:  # every sentinel knows the replica and the two others
        while True:
            replicas = redis(port, "SENTINEL", "REPLICAS", "m")
            others = redis(port, "SENTINEL", "SENTINELS", "m")
            if "slave" in replicas and others.count("runid") == 2:
                break
            if time.time() > deadline:
                sys.exit("the sentinels did not find each other")
            time.sleep(0.05)
    url = "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in sentinels) + "/m"
    return procs, master, replica, url


def run(args):
    tmp = tempfile.mkdtemp(prefix="redisgate-bench-failover-")
    procs, master, replica, url = start_cluster(args.redis_server, tmp)
    port = free_port()
    gateway = subprocess.Popen([args.gateway, "--listen", f"127.0.0.1:{port}", "--token", TOKEN, "--redis-url", url],
                               stderr=subprocess.DEVNULL)
    procs.append(gateway)
    wait_port(port)
    try:
        return write_through_a_kill(port, "", TOKEN, lambda: procs[0].send_signal(signal.SIGKILL), args.rate)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def run_platform(args):
    """`redisgate dev`, a replicated instance made with the CLI, and a SIGKILL of the master it names."""
    dev, summary, env, state = start_dev(args.platform, "redisgate-bench-failover-")
    try:
        port = int(summary["rest_url"].split("//")[1].split("/")[0].split(":")[1])
        cli = lambda *a: json.loads(subprocess.run([args.platform, "--json", *a], env=env, check=True,  # noqa: E731
                                                   capture_output=True, text=True).stdout)
        created = cli("instance", "create", "bench-ha", "--memory", "64mb", "--replicas", "1",
                      "--min-replicas-to-write", str(args.min_replicas_to_write))
        token, instance_id = created["credentials"]["token"], created["instance"]["id"]
        shown = cli("instance", "show", "bench-ha")
        master = next(n["address"] for n in shown["nodes"] if n["role"] == "master")
        directory = glob.glob(os.path.join(state, "**", instance_id), recursive=True)[0]
        admin = json.load(open(os.path.join(directory, "credentials.json")))["admin"]
        info = subprocess.run(["redis-cli", "-p", master.split(":")[1], "--user", "redisgate-admin", "--pass", admin,
                               "--no-auth-warning", "INFO", "server"], check=True, capture_output=True, text=True)
        pid = int(next(l for l in info.stdout.splitlines() if l.startswith("process_id:")).split(":")[1])
        return write_through_a_kill(port, "/db/bench-ha", token, lambda: os.kill(pid, signal.SIGKILL), args.rate)
    finally:
        dev.send_signal(signal.SIGINT)
        try:
            dev.wait(30)
        except subprocess.TimeoutExpired:
            dev.kill()


def write_through_a_kill(port, prefix, token, kill, rate):
    """Writes `rate` per second; kills after 2 s; stops 2 s after writes succeed again. Returns (window,
    failures by status, slow requests, acknowledged, acknowledged but missing)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    acked, failures, slow, n = [], {}, 0, 0
    killed_at = recovered_at = None
    interval = 1 / rate
    start = time.time()
    while True:
        now = time.time()
        if killed_at is None and now - start >= 2:
            kill()
            killed_at = time.time()
        if recovered_at is not None and now - recovered_at >= 2:
            break
        if killed_at is not None and now - killed_at > 30:
            sys.exit("no recovery within 30 s")
        n += 1
        sent = time.time()
        try:
            connection.request("POST", f"{prefix}/set/w:{n}/{n}", headers=headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
            json.loads(body)
        except (OSError, http.client.HTTPException, ValueError) as e:
            status = f"transport: {type(e).__name__}"
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if time.time() - sent > 1:
            slow += 1
        if status == 200:
            acked.append(n)
            if killed_at is not None and recovered_at is None:
                recovered_at = time.time()
        elif killed_at is not None:
            failures[status] = failures.get(status, 0) + 1
        time.sleep(max(0, interval - (time.time() - sent)))
    # Every acknowledged write, read back through the gateway from the new master.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", f"{prefix}/", body=json.dumps(["MGET", *[f"w:{i}" for i in acked]]), headers=headers)
    values = json.loads(connection.getresponse().read())["result"]
    missing = sum(1 for i, v in zip(acked, values) if v != str(i))
    return recovered_at - killed_at, failures, slow, len(acked), missing


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gateway", nargs="?")
    parser.add_argument("--platform", metavar="CLI", help="the redisgate CLI: run `redisgate dev` and a replicated instance")
    parser.add_argument("--min-replicas-to-write", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="writes per second")
    parser.add_argument("--redis-server", default="redis-server")
    args = parser.parse_args()
    if bool(args.gateway) == bool(args.platform):
        parser.error("name the gateway binary, or --platform CLI")
    print("| run | writes failed for | failed requests by status | slower than 1 s | acknowledged | acknowledged, missing |")
    print("|---|---|---|---|---|---|")
    for i in range(args.runs):
        window, failures, slow, acked, missing = run_platform(args) if args.platform else run(args)
        by_status = ", ".join(f"{k}: {v}" for k, v in sorted(failures.items(), key=str)) or "none"
        print(f"| {i + 1} | {window:.2f} s | {by_status} | {slow} | {acked} | {missing} |")


if __name__ == "__main__":
    main()
