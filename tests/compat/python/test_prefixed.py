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


@pytest.mark.parametrize("which", ["plain", "prefixed"])
def test_trailing_slash_url(url, prefixed_url, token, redis, prefix, which):
    """upstash-redis builds f"{url}/pipeline" without stripping a trailing slash, so a URL
    ending in "/" yields POST //pipeline and //multi-exec (protocol A4)."""
    base = (url if which == "plain" else prefixed_url) + "/"
    client = Redis(base, token, rest_retries=0)
    try:
        assert client.set(f"{prefix}k", "test") is True
        assert client.get(f"{prefix}k") == "test"
        p = client.pipeline()
        p.incr(f"{prefix}n")
        p.get(f"{prefix}k")
        assert p.exec() == [1, "test"]
        tx = client.multi()
        tx.incr(f"{prefix}n")
        assert tx.exec() == [2]
        assert redis.get(f"{prefix}n") == "2"
    finally:
        client.close()
