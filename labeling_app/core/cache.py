"""Django's Redis cache, made to degrade instead of failing while Redis is down.

The cache holds only what can be rebuilt or lost (job progress, insight tables, throttle counts), so during
an outage a read is a miss and a write is dropped, and pages keep working. The first failed call opens the
Redis breaker (core.redis_breaker): until it closes, calls answer without touching the network. Rate limits (DRF
throttles count in the cache) are not enforced while Redis is down.
"""
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from labeling_app.core.redis_breaker import redis_breaker_is_open, redis_breaker_trip

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(method: Callable[..., Any], fallback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: RedisCacheClient, *args: Any, **kwargs: Any) -> Any:
        # settings.REDIS_URL in production: one breaker with the outbox and events.
        url: str = self._servers[0]  # type: ignore[attr-defined]
        if redis_breaker_is_open(url):  # Redis failed a moment ago: no connect timeout to wait for
            return fallback(*args, **kwargs)
        try:
            return method(self, *args, **kwargs)
        except UNAVAILABLE as exc:
            logger.warning("cache unavailable (%s): %s skipped", exc, method.__name__)
            redis_breaker_trip(exc, url)
            return fallback(*args, **kwargs)

    return call


def _default(key: Any, default: Any = None, **_: Any) -> Any:
    return default


class TolerantRedisCacheClient(RedisCacheClient):
    get = _tolerant(RedisCacheClient.get, _default)
    get_many = _tolerant(RedisCacheClient.get_many, lambda *a, **k: {})
    has_key = _tolerant(RedisCacheClient.has_key, lambda *a, **k: False)
    add = _tolerant(RedisCacheClient.add, lambda *a, **k: False)
    set = _tolerant(RedisCacheClient.set, lambda *a, **k: None)
    set_many = _tolerant(RedisCacheClient.set_many, lambda *a, **k: [])
    touch = _tolerant(RedisCacheClient.touch, lambda *a, **k: False)
    delete = _tolerant(RedisCacheClient.delete, lambda *a, **k: False)
    delete_many = _tolerant(RedisCacheClient.delete_many, lambda *a, **k: None)
    clear = _tolerant(RedisCacheClient.clear, lambda *a, **k: False)


class TolerantRedisCache(RedisCache):
    """settings.CACHES' backend: RedisCache whose calls answer a miss (and drop writes) while Redis is down."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = TolerantRedisCacheClient
