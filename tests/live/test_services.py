"""The project event listeners: current model first, then published events, keep-alives, and clean closing."""
import asyncio
import contextlib
import time

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from labeling_app.live.services import project_channel
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.services.model_events import model_event_publish
from labeling_app.modeling.services.model_events import model_events_listen as events_listen
from labeling_app.modeling.services.model_events import model_events_listen_async as events_listen_async

pytestmark = pytest.mark.worker


def subscribers(project_id: int) -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return dict(client.pubsub_numsub(project_channel(project_id)))[project_channel(project_id).encode()]


def ready_version(project, number: int) -> ModelVersion:
    version = ModelVersion.objects.create(project=project, number=number, status=ModelVersion.Status.READY)
    project.current_model = version
    project.save(update_fields=["current_model"])
    return version


def test_async_listener_sends_current_model_then_events_and_keep_alives(prepare_project):
    project = prepare_project.project
    ready_version(project, 1)

    async def scenario() -> tuple[dict, int, dict, float]:
        stream = events_listen_async(project_id=project.pk, timeout=0.5)
        try:
            first = await anext(stream)
            subscribed = subscribers(project.pk)
            version = await sync_to_async(ready_version)(project, 2)
            await sync_to_async(model_event_publish)(version=version)
            published = await anext(stream)
            start = time.monotonic()
            assert await anext(stream) is None
            return first, subscribed, published, time.monotonic() - start
        finally:
            await stream.aclose()

    first, subscribed, published, quiet = async_to_sync(scenario)()
    assert first == {"type": "model", "project": project.pk, "model": first["model"]}
    assert first["model"]["version"] == 1
    # Subscribed before the current model was read: nothing made current in between is lost.
    assert subscribed == 1
    assert published["model"]["version"] == 2
    # The keep-alive comes after real quiet, not early for the subscribe confirmation.
    assert quiet >= 0.45
    assert subscribers(project.pk) == 0


def test_async_listener_cancelled_while_waiting_unsubscribes(prepare_project):
    """What the ASGI handler does when a page goes away: cancel the task that is streaming."""
    project = prepare_project.project

    async def scenario() -> tuple[int, int]:
        async def consume() -> None:
            async for _ in events_listen_async(project_id=project.pk, timeout=30):
                pass

        task = asyncio.create_task(consume())
        for _ in range(100):
            if subscribers(project.pk):
                break
            await asyncio.sleep(0.05)
        # Let the listener reach its wait for a message.
        await asyncio.sleep(0.2)
        before = subscribers(project.pk)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return before, subscribers(project.pk)

    before, after = async_to_sync(scenario)()
    assert (before, after) == (1, 0)


def test_sync_listener_sends_current_model_then_events(prepare_project):
    project = prepare_project.project
    stream = events_listen(project_id=project.pk, timeout=5)
    try:
        assert next(stream) == {"type": "model", "project": project.pk, "model": None}
        assert subscribers(project.pk) == 1
        model_event_publish(version=ready_version(project, 1))
        assert next(stream)["model"]["version"] == 1
    finally:
        stream.close()
    assert subscribers(project.pk) == 0


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed: Redis is "down"
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"


def test_while_redis_is_down_both_listeners_say_so_and_end_and_publishing_drops_the_event(prepare_project,
                                                                                          settings):
    from labeling_app.live.services import UNAVAILABLE_EVENT

    settings.REDIS_URL = _closed_port_url()
    assert list(events_listen(project_id=prepare_project.project.pk)) == [UNAVAILABLE_EVENT]

    async def drain() -> list:
        return [event async for event in events_listen_async(project_id=prepare_project.project.pk)]

    assert async_to_sync(drain)() == [UNAVAILABLE_EVENT]
    model_event_publish(version=ready_version(prepare_project.project, 1))  # no error: the pages catch up later
