"""The blocking `upstash_redis.Redis` client against the gateway (base64 on by default)."""

import hashlib
import secrets

import pytest

from upstash_redis import Redis

BASE64_LOOKALIKES = ["test", "PONG", "abcd", "OK", "T0s=", "hello world"]


def test_client_uses_base64_by_default(url, token):
    client = Redis(url, token)
    try:
        assert client._headers.get("Upstash-Encoding") == "base64"
    finally:
        client.close()


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_set_get_strings(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    for i, value in enumerate(BASE64_LOOKALIKES + ["héllo ✓ 日本 🚀", ""]):
        key = f"{prefix}s:{i}"
        assert r.set(key, value) is True
        assert r.get(key) == value, value
    assert r.get(f"{prefix}missing") is None
    assert r.strlen(f"{prefix}s:{len(BASE64_LOOKALIKES)}") == len("héllo ✓ 日本 🚀".encode())


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_unicode_keys_and_large_values(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    ukey = f"{prefix}clé ✓/日本?#%"
    assert r.set(ukey, "v") is True
    assert r.get(ukey) == "v"
    big = "abcd✓" * 200_000  # ~1.2 MB
    assert r.set(f"{prefix}big", big) is True
    assert r.get(f"{prefix}big") == big


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_numbers_are_stored_as_their_json_text(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    cases = [(42, "42"), (-7, "-7"), (1.5, "1.5"), (1e-7, "1e-07"), (True, "true")]
    for i, (value, text) in enumerate(cases):
        key = f"{prefix}n:{i}"
        assert r.set(key, value) is True
        assert r.get(key) == text


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_set_options_and_ttl(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    key = f"{prefix}ttl"
    assert r.set(key, "v", ex=100) is True
    assert 90 < r.ttl(key) <= 100
    assert r.set(key, "other", nx=True) is False
    assert r.set(key, "new", get=True) == "v"
    assert r.ttl(key) == -1
    assert r.expire(key, 50) is True
    assert 40 < r.ttl(key) <= 50
    assert r.ttl(f"{prefix}none") == -2


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_incr_family(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    key = f"{prefix}ctr"
    assert r.incr(key) == 1
    assert r.incrby(key, 41) == 42
    assert r.decr(key) == 41
    assert r.incrbyfloat(key, 0.5) == 41.5
    assert r.get(key) == "41.5"


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_mget_del_exists(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    r.set(f"{prefix}a", "test")
    r.set(f"{prefix}b", "OK")
    assert r.mget(f"{prefix}a", f"{prefix}none", f"{prefix}b") == ["test", None, "OK"]
    assert r.exists(f"{prefix}a", f"{prefix}b", f"{prefix}none") == 2
    assert r.delete(f"{prefix}a", f"{prefix}b", f"{prefix}none") == 2
    assert r.exists(f"{prefix}a", f"{prefix}b") == 0


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_hashes(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    key = f"{prefix}h"
    assert r.hset(key, values={"f1": "v1", "f2": "PONG", "f3": "héllo"}) == 3
    assert r.hset(key, "f4", "abcd") == 1
    assert r.hget(key, "f2") == "PONG"
    assert r.hgetall(key) == {"f1": "v1", "f2": "PONG", "f3": "héllo", "f4": "abcd"}
    assert r.hgetall(f"{prefix}nohash") == {}
    assert r.hincrbyfloat(key, "num", 2.5) == 2.5
    assert r.hexists(key, "f1") is True


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_lists(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    key = f"{prefix}l"
    assert r.lpush(key, "a", "test", "c") == 3
    assert r.rpush(key, "z") == 4
    assert r.lrange(key, 0, -1) == ["c", "test", "a", "z"]
    assert r.llen(key) == 4
    assert r.lpop(key) == "c"
    assert r.rpop(key) == "z"
    assert r.lrange(key, 0, -1) == ["test", "a"]
    assert r.lrange(f"{prefix}nolist", 0, -1) == []


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_sets_and_sorted_sets(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    s = f"{prefix}set"
    assert r.sadd(s, "x", "abcd", "y") == 3
    assert sorted(r.smembers(s)) == ["abcd", "x", "y"]
    assert r.sismember(s, "abcd") is True
    z = f"{prefix}z"
    assert r.zadd(z, {"a": 1, "b": 2.5, "c": -3}) == 3
    assert r.zrange(z, 0, -1) == ["c", "a", "b"]
    assert r.zrange(z, 0, -1, withscores=True) == [("c", -3.0), ("a", 1.0), ("b", 2.5)]
    assert r.zscore(z, "b") == 2.5
    assert r.zscore(z, "none") is None
    assert r.zincrby(z, 1.25, "a") == 2.25


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_scan(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    keys = {f"{prefix}scan:{i}" for i in range(5)}
    for k in keys:
        r.set(k, "v")
    seen = set()
    cursor, batch = r.scan(0, match=f"{prefix}scan:*", count=100)
    assert isinstance(cursor, int)
    seen.update(batch)
    for _ in range(10000):
        if cursor == 0:
            break
        cursor, batch = r.scan(cursor, match=f"{prefix}scan:*", count=100)
        seen.update(batch)
    assert cursor == 0
    assert seen == keys


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_scripts_ping_echo(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    assert r.eval("return ARGV[1]", args=["test"]) == "test"
    assert r.eval("return {KEYS[1], ARGV[1], 42}", keys=[f"{prefix}k"], args=["x"]) == [
        f"{prefix}k",
        "x",
        42,
    ]
    source = f"-- {secrets.token_hex(8)}\nreturn ARGV[1]"
    sha = hashlib.sha1(source.encode()).hexdigest()
    assert r.script_exists(sha) == [False]
    assert r.script_load(source) == sha
    assert r.script_exists(sha) == [True]
    assert r.evalsha(sha, args=["abcd"]) == "abcd"
    assert r.ping() == "PONG"
    assert r.ping("hi") == "hi"
    assert r.echo("héllo ✓") == "héllo ✓"


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_generic_execute(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    # execute() still applies the client's per-command formatters (SET -> bool).
    assert r.execute(["SET", f"{prefix}k", "PONG"]) is True
    assert r.execute(["get", f"{prefix}k"]) == "PONG"
    assert r.execute(["RPUSH", f"{prefix}l", "a", "OK"]) == 2
    assert r.execute(["lrange", f"{prefix}l", "0", "-1"]) == ["a", "OK"]


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_pipeline(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    p = r.pipeline()
    p.set(f"{prefix}a", "test")
    p.incr(f"{prefix}c")
    p.incrby(f"{prefix}c", 9)
    p.get(f"{prefix}a")
    p.get(f"{prefix}none")
    p.hset(f"{prefix}h", values={"f": "OK"})
    p.hgetall(f"{prefix}h")
    p.rpush(f"{prefix}l", "x", "y")
    p.lrange(f"{prefix}l", 0, -1)
    p.zadd(f"{prefix}z", {"m": 1.5})
    p.zscore(f"{prefix}z", "m")
    assert p.exec() == [True, 1, 10, "test", None, 1, {"f": "OK"}, 2, ["x", "y"], 1, 1.5]
    # The pipeline object is reusable after exec.
    p.get(f"{prefix}c")
    assert p.exec() == ["10"]


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_multi(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    tx = r.multi()
    tx.set(f"{prefix}k", "abcd")
    tx.incr(f"{prefix}n")
    tx.incr(f"{prefix}n")
    tx.get(f"{prefix}k")
    tx.lpush(f"{prefix}l", "v")
    tx.lrange(f"{prefix}l", 0, -1)
    assert tx.exec() == [True, 1, 2, "abcd", 1, ["v"]]
    assert r.get(f"{prefix}n") == "2"


def test_sync_token_is_tracked(url, token, prefix):
    client = Redis(url, token, rest_retries=0)
    try:
        client.set(f"{prefix}k", "v1")
        t1 = client._sync_token
        assert t1, "no Upstash-Sync-Token header on the response"
        client.set(f"{prefix}k", "v2")
        assert client._sync_token and client._sync_token != t1
    finally:
        client.close()
