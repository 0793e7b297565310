"""Shared fixtures for the upstash-redis (PyPI) compatibility suite.

The Rust test harness provides the environment (see ../README.md). A missing variable is a
hard failure: every test that needs it errors out instead of being skipped.
"""

import os
import secrets

import pytest

from upstash_redis import Redis

ENV_VARS = (
    "REDISGATE_URL",
    "REDISGATE_TOKEN",
    "REDISGATE_READONLY_TOKEN",
    "REDISGATE_PREFIXED_URL",
)


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"environment variable {name} is not set: the compat suite needs "
            + ", ".join(ENV_VARS)
        )
    return value


@pytest.fixture(scope="session")
def url() -> str:
    return require_env("REDISGATE_URL")


@pytest.fixture(scope="session")
def token() -> str:
    return require_env("REDISGATE_TOKEN")


@pytest.fixture(scope="session")
def readonly_token() -> str:
    return require_env("REDISGATE_READONLY_TOKEN")


@pytest.fixture(scope="session")
def prefixed_url() -> str:
    return require_env("REDISGATE_PREFIXED_URL")


@pytest.fixture
def prefix() -> str:
    """A key prefix unique to the test: the Redis is shared and never flushed.

    On a Redis Cluster (REDISGATE_CLUSTER=1) it is a hash tag, so that a test's keys share one slot, as a
    cluster's users write multi-key commands and transactions; different tests land on different masters.
    """
    id = f"rgpy:{secrets.token_hex(6)}"
    return f"{{{id}}}:" if os.environ.get("REDISGATE_CLUSTER") == "1" else f"{id}:"


@pytest.fixture
def redis(url, token):
    # rest_retries=0: the client retries on *any* exception (including a JSON parse error)
    # after 3 s; a gateway bug should fail fast instead.
    client = Redis(url, token, rest_retries=0)
    yield client
    client.close()


@pytest.fixture
def redis_plain(url, token):
    """Same, without `Upstash-Encoding: base64`."""
    client = Redis(url, token, rest_encoding=None, rest_retries=0)
    yield client
    client.close()


def pytest_sessionstart(session):
    # Fail the whole run loudly (not skip) when the harness did not provide the environment.
    missing = [name for name in ENV_VARS if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(
            "missing environment variables for the compat suite: " + ", ".join(missing)
        )
