"""Live updates: model events published on a Redis channel per project, read by the pages' event stream."""
import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project

logger = logging.getLogger(__name__)
UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# What an open stream is told when Redis goes away (or is away when it opens): it ends, and the page retries.
UNAVAILABLE_EVENT = {"type": "unavailable", "message": "live updates are paused until the server's Redis is back"}


def project_channel(project_id: int) -> str:
    # Pub/sub channels are shared by all Redis databases: the installation's prefix keeps two setups apart.
    return f"{settings.REDIS_KEY_PREFIX}project:{project_id}:events"


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)


def _publish(project_id: int, message: dict[str, Any]) -> None:
    """Publish to the project's open pages; while Redis is down the event is dropped (pages catch up on
    reconnecting: a stream starts with the current model)."""
    try:
        _client().publish(project_channel(project_id), json.dumps(message))
    except UNAVAILABLE as exc:
        logger.warning("event for project %s not published, Redis unavailable: %s", project_id, exc)


def model_version_payload(version: ModelVersion | None) -> dict[str, Any] | None:
    """What a page needs to show a model version in its status badge."""
    if version is None:
        return None
    return {
        "version": version.number,
        "status": version.status,
        "labelled_responses": version.labelled_responses,
        "labels": version.labels_used,
        "micro_f1": version.micro_f1,
        "macro_f1": version.macro_f1,
        "quality_interval": version.quality_interval or None,
        "made_current_at": version.made_current_at.isoformat() if version.made_current_at else None,
    }


def model_event_current(*, project_id: int) -> dict[str, Any]:
    """The model event for the project's current model, as read from the database now."""
    project = Project.objects.select_related("current_model").get(pk=project_id)
    return {"type": "model", "project": project.pk, "model": model_version_payload(project.current_model)}


def _model_event_on_connect(*, project_id: int) -> dict[str, Any]:
    """model_event_current for a stream that stays open: this thread's database connection is given back after.

    Otherwise each open page would hold a database connection for as long as it stays open.
    """
    try:
        return model_event_current(project_id=project_id)
    finally:
        # Not in the middle of someone else's transaction (a test's, say), which closing would break.
        if not connection.in_atomic_block:
            connection.close()


def member_removed_publish(*, project_id: int, user_id: int) -> None:
    """Tell the project's open streams that `user_id` is no longer a member: that user's streams end."""
    _publish(project_id, {"type": "member_removed", "project": project_id, "user": user_id})


def stream_event_for(event: dict[str, Any] | None, *, user_id: int) -> str:
    """What an open stream of `user_id` does with an event (None: a keep-alive): "send", "skip" or "end".

    A removal of this user ends the stream; a removal of someone else is nobody else's business.
    """
    if event is not None and event.get("type") == "member_removed":
        return "end" if event.get("user") == user_id else "skip"
    return "send"


def model_event_publish(*, version: ModelVersion) -> None:
    """Tell every open page of the project that `version` is now current."""
    message = {"type": "model", "project": version.project_id, "model": model_version_payload(version)}
    _publish(version.project_id, message)


def events_listen(*, project_id: int, timeout: float = 15.0) -> Iterator[dict[str, Any] | None]:
    """The current model event, then the project's events as they come; None after `timeout` s of quiet.

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
        # Read the current model only once subscribed, so a version made current in between is not missed.
        yield _model_event_on_connect(project_id=project_id)
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


async def events_listen_async(*, project_id: int, timeout: float = 15.0) -> AsyncGenerator[dict[str, Any] | None, None]:
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
        yield await sync_to_async(_model_event_on_connect)(project_id=project_id)
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
