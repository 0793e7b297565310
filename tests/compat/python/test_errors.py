"""Error surfaces: Redis errors, wrong token, read-only token."""

import pytest

from upstash_redis import Redis
from upstash_redis.errors import UpstashError

AUTH_ERROR = r"(?i)WRONGPASS|unauthori[sz]ed|invalid or missing auth token|auth"


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_unknown_command(request, client_name):
    r = request.getfixturevalue(client_name)
    with pytest.raises(UpstashError, match=r"(?i)ERR unknown command") as exc:
        r.execute(["foo", "bar"])
    assert "foo" in str(exc.value)


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_wrong_arity_and_wrongtype(request, client_name, prefix):
    r = request.getfixturevalue(client_name)
    with pytest.raises(UpstashError, match=r"(?i)ERR wrong number of arguments for 'get' command"):
        r.execute(["get"])
    r.set(f"{prefix}s", "v")
    with pytest.raises(UpstashError, match=r"WRONGTYPE"):
        r.lpush(f"{prefix}s", "x")
    with pytest.raises(UpstashError, match=r"ERR value is not an integer or out of range"):
        r.incr(f"{prefix}s")
    assert r.get(f"{prefix}s") == "v"


@pytest.mark.parametrize("client_name", ["redis", "redis_plain"])
def test_pipeline_with_failing_command(request, client_name, prefix):
    """The Python client raises on the first per-command error, but the server ran the rest."""
    r = request.getfixturevalue(client_name)
    r.set(f"{prefix}s", "abc")
    p = r.pipeline()
    p.set(f"{prefix}before", "1")
    p.incr(f"{prefix}s")
    p.set(f"{prefix}after", "2")
    with pytest.raises(UpstashError, match=r"ERR value is not an integer or out of range"):
        p.exec()
    assert r.get(f"{prefix}before") == "1"
    assert r.get(f"{prefix}after") == "2"


@pytest.mark.parametrize("encoding", ["base64", None])
def test_wrong_token_raises(url, prefix, encoding):
    bad = Redis(url, "definitely-not-the-token", rest_encoding=encoding, rest_retries=0)
    try:
        with pytest.raises(UpstashError, match=AUTH_ERROR):
            bad.get(f"{prefix}k")
        with pytest.raises(UpstashError, match=AUTH_ERROR):
            bad.set(f"{prefix}k", "v")
        p = bad.pipeline()
        p.get(f"{prefix}k")
        # A pipeline-level 401 is a JSON object, not an array; the client must still raise.
        with pytest.raises(Exception):
            p.exec()
    finally:
        bad.close()


@pytest.mark.parametrize("encoding", ["base64", None])
def test_readonly_token(url, token, readonly_token, prefix, encoding):
    rw = Redis(url, token, rest_encoding=encoding, rest_retries=0)
    ro = Redis(url, readonly_token, rest_encoding=encoding, rest_retries=0)
    try:
        rw.set(f"{prefix}k", "orig")
        assert ro.get(f"{prefix}k") == "orig"
        assert ro.exists(f"{prefix}k") == 1
        assert ro.ping() == "PONG"
        with pytest.raises(UpstashError, match=r"NOPERM"):
            ro.set(f"{prefix}k", "changed")
        with pytest.raises(UpstashError, match=r"NOPERM"):
            ro.delete(f"{prefix}k")
        # A refused transaction is answered with a single {"error"} object (protocol I2), which
        # upstash-redis 1.x cannot parse for multi-exec (it iterates the object and raises
        # AttributeError): any exception is accepted, the point is that nothing is written.
        tx = ro.multi()
        tx.set(f"{prefix}k", "changed")
        with pytest.raises((UpstashError, AttributeError)):
            tx.exec()
        assert rw.get(f"{prefix}k") == "orig"
    finally:
        rw.close()
        ro.close()
