"""Live updates: events published on a Redis channel per project, read by the pages' event stream.

Knows no model: what an event says is its publisher's (modeling.services.model_events, projects' members), so
every package may publish without this one depending on it.
"""
import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings

from labeling_app.core.redis_breaker import redis_breaker_is_open, redis_breaker_trip

logger = logging.getLogger(__name__)
UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# What an open stream is told when Redis goes away (or is away when it opens): it ends, and the page retries.
UNAVAILABLE_EVENT = {"type": "unavailable", "message": "live updates are paused until the server's Redis is back"}


def project_channel(project_id: int) -> str:
    # Pub/sub channels are shared by all Redis databases: the installation's prefix keeps two setups apart.
    return f"{settings.REDIS_KEY_PREFIX}project:{project_id}:events"


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)


def _publisher() -> redis.Redis:
    # Publishing runs in requests: bounded, and not retried (the breaker answers the next calls).
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1, retry=None)


def event_publish(project_id: int, message: dict[str, Any]) -> None:
    """Publish to the project's open pages; while Redis is down the event is dropped (pages catch up on
    reconnecting: a stream starts with the current model). While the Redis breaker is open it is dropped at once."""
    if redis_breaker_is_open():
        logger.info("event for project %s not published, Redis unavailable", project_id)
        return
    try:
        _publisher().publish(project_channel(project_id), json.dumps(message))
    except UNAVAILABLE as exc:
        logger.warning("event for project %s not published, Redis unavailable: %s", project_id, exc)
        redis_breaker_trip(exc)


def member_removed_publish(*, project_id: int, user_id: int) -> None:
    """Tell the project's open streams that `user_id` is no longer a member: that user's streams end."""
    event_publish(project_id, {"type": "member_removed", "project": project_id, "user": user_id})


def stream_event_for(event: dict[str, Any] | None, *, user_id: int) -> str:
    """What an open stream of `user_id` does with an event (None: a keep-alive): "send", "skip" or "end".

    A removal of this user ends the stream; a removal of someone else is nobody else's business.
    """
    if event is not None and event.get("type") == "member_removed":
        return "end" if event.get("user") == user_id else "skip"
    return "send"


def events_listen(*, project_id: int, first: Callable[[], dict[str, Any]],
                  timeout: float = 15.0) -> Iterator[dict[str, Any] | None]:
    """`first()` (the state a page catches up with), then the project's events as they come; None after `timeout`
    s of quiet.

    Blocking: for WSGI servers (the dev server, live-server tests). ASGI serving uses events_listen_async.
    While Redis is down (or when it goes away) the last event is UNAVAILABLE_EVENT and the stream ends.
    """
    pubsub = _client().pubsub(ignore_subscribe_messages=True)
    try:
        try:
            pubsub.subscribe(project_channel(project_id))
        except UNAVAILABLE:
            yield UNAVAILABLE_EVENT
            return
        # Read the current state only once subscribed, so a change made in between is not missed.
        yield first()
        quiet_until = time.monotonic() + timeout
        while True:
            # get_message returns None early for the subscribe confirmation: only real quiet earns a keep-alive.
            try:
                message = pubsub.get_message(timeout=max(0.0, quiet_until - time.monotonic()))
            except UNAVAILABLE:
                yield UNAVAILABLE_EVENT
                return
            if message is not None:
                yield json.loads(message["data"])
            elif time.monotonic() < quiet_until:
                continue
            else:
                yield None
            quiet_until = time.monotonic() + timeout
    finally:
        pubsub.close()


async def events_listen_async(*, project_id: int, first: Callable[[], dict[str, Any]],
                              timeout: float = 15.0) -> AsyncGenerator[dict[str, Any] | None, None]:
    """events_listen on redis.asyncio: waiting for an event holds no thread, so one worker serves many streams.

    Closing the generator (a client that went away cancels it) unsubscribes and closes its Redis connection.
    """
    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    loop = asyncio.get_running_loop()
    try:
        try:
            await pubsub.subscribe(project_channel(project_id))
        except UNAVAILABLE:
            yield UNAVAILABLE_EVENT
            return
        yield await sync_to_async(first)()
        quiet_until = loop.time() + timeout
        while True:  # as in events_listen
            try:
                message = await pubsub.get_message(timeout=max(0.0, quiet_until - loop.time()))
            except UNAVAILABLE:
                yield UNAVAILABLE_EVENT
                return
            if message is not None:
                yield json.loads(message["data"])
            elif loop.time() < quiet_until:
                continue
            else:
                yield None
            quiet_until = loop.time() + timeout
    finally:
        await pubsub.aclose()
        await client.aclose()
