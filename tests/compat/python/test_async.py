"""The asyncio client `upstash_redis.asyncio.Redis` against the gateway.

Driven with asyncio.run() so no pytest plugin is needed.
"""

import asyncio

import pytest

from upstash_redis.asyncio import Redis as AsyncRedis
from upstash_redis.errors import UpstashError


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("encoding", ["base64", None])
def test_async_basic_commands(url, token, prefix, encoding):
    async def body():
        async with AsyncRedis(url, token, rest_encoding=encoding, rest_retries=0) as r:
            for i, value in enumerate(["test", "PONG", "abcd", "OK", "héllo ✓"]):
                assert await r.set(f"{prefix}s:{i}", value) is True
                assert await r.get(f"{prefix}s:{i}") == value
            assert await r.incr(f"{prefix}ctr") == 1
            assert await r.incrby(f"{prefix}ctr", 4) == 5
            assert await r.hset(f"{prefix}h", values={"a": "1", "b": "test"}) == 2
            assert await r.hgetall(f"{prefix}h") == {"a": "1", "b": "test"}
            assert await r.rpush(f"{prefix}l", "x", "y", "z") == 3
            assert await r.lrange(f"{prefix}l", 0, -1) == ["x", "y", "z"]
            assert await r.ping() == "PONG"
            # Concurrent requests on one client.
            results = await asyncio.gather(*(r.get(f"{prefix}s:{i}") for i in range(5)))
            assert results == ["test", "PONG", "abcd", "OK", "héllo ✓"]

    run(body())


@pytest.mark.parametrize("encoding", ["base64", None])
def test_async_pipeline_and_multi(url, token, prefix, encoding):
    async def body():
        async with AsyncRedis(url, token, rest_encoding=encoding, rest_retries=0) as r:
            p = r.pipeline()
            p.set(f"{prefix}a", "test")
            p.incr(f"{prefix}n")
            p.get(f"{prefix}a")
            assert await p.exec() == [True, 1, "test"]

            tx = r.multi()
            tx.incr(f"{prefix}n")
            tx.set(f"{prefix}b", "PONG")
            tx.get(f"{prefix}b")
            assert await tx.exec() == [2, True, "PONG"]

    run(body())


def test_async_errors(url, token, readonly_token, prefix):
    async def body():
        async with AsyncRedis(url, token, rest_retries=0) as r:
            with pytest.raises(UpstashError, match=r"(?i)ERR unknown command"):
                await r.execute(["foo", "bar"])
            await r.set(f"{prefix}s", "x")
            with pytest.raises(UpstashError, match=r"ERR value is not an integer or out of range"):
                await r.incr(f"{prefix}s")
        async with AsyncRedis(url, "wrong-token", rest_retries=0) as bad:
            with pytest.raises(UpstashError, match=r"(?i)WRONGPASS|unauthori[sz]ed|auth"):
                await bad.get(f"{prefix}s")
        async with AsyncRedis(url, readonly_token, rest_retries=0) as ro:
            assert await ro.get(f"{prefix}s") == "x"
            with pytest.raises(UpstashError, match=r"NOPERM"):
                await ro.set(f"{prefix}s", "y")
        async with AsyncRedis(url, token, rest_retries=0) as r:
            assert await r.get(f"{prefix}s") == "x"

    run(body())
