"""The same database through the path-prefix URL form (REDISGATE_PREFIXED_URL)."""

import pytest

from upstash_redis import Redis
from upstash_redis.errors import UpstashError


@pytest.fixture
def pre(prefixed_url, token):
    client = Redis(prefixed_url, token, rest_retries=0)
    yield client
    client.close()


def test_prefixed_single_commands(pre, redis, prefix):
    assert pre.set(f"{prefix}k", "test") is True
    assert pre.get(f"{prefix}k") == "test"
    assert redis.get(f"{prefix}k") == "test"  # same Redis as the plain URL
    redis.set(f"{prefix}k2", "PONG")
    assert pre.get(f"{prefix}k2") == "PONG"
    assert pre.incr(f"{prefix}n") == 1
    assert pre.hgetall(f"{prefix}none") == {}
    assert pre.ping() == "PONG"


def test_prefixed_pipeline(pre, redis, prefix):
    p = pre.pipeline()
    p.set(f"{prefix}a", "abcd")
    p.incr(f"{prefix}c")
    p.get(f"{prefix}a")
    assert p.exec() == [True, 1, "abcd"]
    assert redis.get(f"{prefix}a") == "abcd"


def test_prefixed_multi(pre, redis, prefix):
    tx = pre.multi()
    tx.set(f"{prefix}a", "1")
    tx.incr(f"{prefix}a")
    tx.get(f"{prefix}a")
    assert tx.exec() == [True, 2, "2"]
    assert redis.get(f"{prefix}a") == "2"


def test_prefixed_errors(pre, prefixed_url, prefix):
    with pytest.raises(UpstashError, match=r"(?i)ERR unknown command"):
        pre.execute(["foo"])
    bad = Redis(prefixed_url, "wrong-token", rest_retries=0)
    try:
        with pytest.raises(UpstashError, match=r"(?i)WRONGPASS|unauthori[sz]ed|auth"):
            bad.get(f"{prefix}k")
    finally:
        bad.close()
