"""With CIVICGRID_CACHE_URL pointing at Redis, a partner's limit holds across processes.

The counter must live outside the process: a second cache client (standing in for another
worker process) sees the calls this process counted, and calls it counts stop this one.
Needs the Redis on 127.0.0.1:6379, which this project's machines and CI always run: without
it the test fails with that message rather than passing unchecked.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest
from django.core.cache.backends.redis import RedisCache

from civicgrid.cases.models import Case
from civicgrid.core import clock
from civicgrid.open311 import partners
from civicgrid.open311.tests.test_endpoints import good_fields, post
from config.env import ConfigError, env_cache

REDIS_URL = os.environ.get("CIVICGRID_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    try:
        url = urlparse(REDIS_URL)
        with socket.create_connection((url.hostname, url.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_cache_url_parsing(monkeypatch):
    monkeypatch.delenv("CIVICGRID_CACHE_URL", raising=False)
    assert env_cache("CIVICGRID_CACHE_URL")["BACKEND"].endswith("LocMemCache")
    monkeypatch.setenv("CIVICGRID_CACHE_URL", "redis://10.0.0.5:6379/2")
    assert env_cache("CIVICGRID_CACHE_URL") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://10.0.0.5:6379/2",
    }
    monkeypatch.setenv("CIVICGRID_CACHE_URL", "memcached://x:11211")
    with pytest.raises(ConfigError, match="unsupported cache URL"):
        env_cache("CIVICGRID_CACHE_URL")


@pytest.fixture
def redis_cache(settings):
    if not redis_up():
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} (start it, or set CIVICGRID_TEST_REDIS_URL)"
        )
    # A prefix of our own, so parallel test runs never share counters.
    config = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"cgtest-{uuid.uuid4().hex}",
    }
    settings.CACHES = {"default": config}
    other_process = RedisCache(REDIS_URL, {"KEY_PREFIX": config["KEY_PREFIX"]})
    yield other_process
    client = other_process._cache.get_client()
    for name in client.keys(f"{config['KEY_PREFIX']}:*"):
        client.delete(name)


def test_the_limit_is_shared_through_redis(client, town, tree, redis_cache):
    _system, key = partners.register_partner(
        name="小程序", jurisdiction=town.district, rate_limit_per_minute=3
    )
    prefix = redis_cache.key_prefix
    # One minute throughout, so the counter cannot roll over between the calls.
    with clock.frozen(clock.now().replace(second=5)):
        assert post(client, **good_fields(town, key)).status_code == 201
        counters = redis_cache._cache.get_client().keys(f"{prefix}:*open311:rate*")
        assert len(counters) == 1
        # Another worker process counts two calls of the same partner in the same minute...
        name = counters[0].decode().split(":", 2)[2]
        assert redis_cache.incr(name, 2) == 3
        # ...so this process has used up the limit of three.
        response = post(client, **good_fields(town, key))
    assert response.status_code == 429
    assert Case.objects.count() == 1
