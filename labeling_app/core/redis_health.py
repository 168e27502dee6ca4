"""Whether Redis answers, asked at most every few seconds per process, for the pages' outage notice."""
import time

import redis
from django.conf import settings

CHECK_EVERY_SECONDS = 3.0
_last: dict[str, tuple[float, bool]] = {}


def redis_available() -> bool:
    """True when settings.REDIS_URL answers a PING (within half a second); remembered for a few seconds."""
    url = settings.REDIS_URL
    now = time.monotonic()
    checked = _last.get(url)
    if checked is not None and now - checked[0] < CHECK_EVERY_SECONDS:
        return checked[1]
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        up = bool(client.ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        up = False
    finally:
        client.close()
    _last[url] = (now, up)
    return up
