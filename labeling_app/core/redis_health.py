"""Whether Redis answers, asked at most every few seconds per process, for the pages' outage notice."""
import time

import redis
from django.conf import settings

from labeling_app.core.redis_breaker import redis_breaker_is_open, redis_breaker_trip

CHECK_EVERY_SECONDS = 3.0
_last: dict[str, tuple[float, bool]] = {}


def redis_available() -> bool:
    """True when settings.REDIS_URL answers a PING (within half a second); remembered for a few seconds."""
    url = settings.REDIS_URL
    now = time.monotonic()
    checked = _last.get(url)
    if checked is not None and now - checked[0] < CHECK_EVERY_SECONDS:
        return checked[1]
    if redis_breaker_is_open(url):  # a call failed a moment ago and the probe has not found Redis back yet
        _last[url] = (now, False)
        return False
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        up = bool(client.ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        up = False
        redis_breaker_trip(exc, url)
    finally:
        client.close()
    _last[url] = (now, up)
    return up
