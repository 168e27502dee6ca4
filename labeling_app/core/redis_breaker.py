"""This process's Redis breaker: after one Redis call failed, the others skip Redis until a probe finds it back.

While Redis is down, every call to it costs its connect timeout (and kombu's reconnecting, seconds); a request
that asks for a job, reads the cache and publishes an event would pay each. The first failure opens the breaker
(`redis_breaker_trip`); while it is open, callers do their fallback without touching the network (a job stays in
the outbox, a cache read is a miss, an event is dropped) and a daemon thread PINGs Redis every PROBE_SECONDS,
closing the breaker as soon as it answers: the next call goes to Redis again. A call made through the open
breaker (a worker's outbox sweep, off any request) that reaches Redis closes it too (`redis_breaker_close`).

State is per process and per Redis URL. A forked child (gunicorn with --preload, Celery's pool) starts closed:
the parent's probe thread did not come along.
"""
import logging
import os
import threading
import time

import redis
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: How often an open breaker asks Redis whether it is back, and how long each PING may take.
PROBE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 0.5

_pid = os.getpid()
_lock = threading.Lock()
_open: set[str] = set()  # URLs whose breaker is open in this process (each has its probe thread)


def _opened() -> set[str]:
    global _pid, _lock, _open
    if os.getpid() != _pid:  # a forked child: no probe thread runs here, start closed
        _pid, _lock, _open = os.getpid(), threading.Lock(), set()
    return _open


def redis_breaker_is_open(url: str | None = None) -> bool:
    """True while this process holds Redis (settings.REDIS_URL by default) for down: skip the call, fall back."""
    return (url or settings.REDIS_URL) in _opened()


def redis_breaker_trip(reason: object, url: str | None = None) -> None:
    """A call to Redis failed (`reason`, for the log): open the breaker and probe until Redis answers again."""
    url = url or settings.REDIS_URL
    opened = _opened()
    with _lock:
        if url in opened:
            return
        opened.add(url)
    logger.warning("Redis unavailable (%s): calls skip it until it answers again", reason)
    threading.Thread(target=_probe, args=(url, opened), name="redis-probe", daemon=True).start()


def redis_breaker_close(url: str | None = None) -> None:
    """A call reached Redis: close its breaker now rather than at the probe's next PING."""
    url = url or settings.REDIS_URL
    opened = _opened()
    if url in opened:
        opened.discard(url)
        logger.warning("Redis answers again: calls go to it")


def _probe(url: str, opened: set[str]) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
                                  socket_timeout=PROBE_TIMEOUT_SECONDS, retry=None)
    try:
        while url in opened:  # closed by a call that reached Redis meanwhile: nothing left to probe
            time.sleep(PROBE_SECONDS)
            try:
                client.ping()
            except RedisError:
                continue
            if url in opened:
                opened.discard(url)
                logger.warning("Redis answers again: calls go to it")
    finally:
        client.close()
