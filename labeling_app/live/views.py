"""The project's live event stream (server-sent events) for the pages' model badge."""
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from labeling_app.live.services import stream_event_for
from labeling_app.modeling.services.model_events import model_events_listen, model_events_listen_async
from labeling_app.projects.access import page_membership

RETRY = "retry: 1000\n\n"
# After an `unavailable` event (Redis is down) the page waits longer before it tries again.
RETRY_LATER = "retry: 10000\n\n"
KEEP_ALIVE = ": keep-alive\n\n"


def _frame(event: dict[str, Any] | None) -> str:
    if event is None:
        return KEEP_ALIVE
    frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
    return frame + RETRY_LATER if event["type"] == "unavailable" else frame


async def _stream_async(project_id: int, user_id: int) -> AsyncIterator[str]:
    yield RETRY
    # Closing this stream closes the listener at once (its Redis connection), not when it is garbage-collected.
    async with aclosing(model_events_listen_async(project_id=project_id)) as events:
        async for event in events:
            action = stream_event_for(event, user_id=user_id)
            if action == "end":
                return
            if action == "send":
                yield _frame(event)


def _stream_sync(project_id: int, user_id: int) -> Iterator[str]:
    yield RETRY
    for event in model_events_listen(project_id=project_id):
        action = stream_event_for(event, user_id=user_id)
        if action == "end":
            return
        if action == "send":
            yield _frame(event)


@login_required
async def project_events(request: HttpRequest, project_id: int) -> StreamingHttpResponse:
    """Server-sent events: the current model on connect (a reconnecting page catches up), then each change.

    Under ASGI the stream is an async generator, so an open page costs a coroutine and a Redis connection, not a
    worker. WSGI servers (the dev server, live-server tests) would buffer an async generator whole, so they get
    the blocking one.
    """
    membership = await sync_to_async(page_membership)(request, project_id)
    project, user_id = membership.project, membership.user_id
    body = (_stream_async(project.pk, user_id) if isinstance(request, ASGIRequest)
            else _stream_sync(project.pk, user_id))
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
