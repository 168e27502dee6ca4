"""Model events: what a page's status badge shows of a project's model, published when a version becomes current
and read first by every event stream (a reconnecting page catches up)."""
from collections.abc import AsyncGenerator, Iterator
from functools import partial
from typing import Any

from django.db import connection

from labeling_app.live.services import event_publish, events_listen, events_listen_async
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.model_events import model_event_current, model_version_payload


def model_event_on_connect(*, project_id: int) -> dict[str, Any]:
    """model_event_current for a stream that stays open: this thread's database connection is given back after.

    Otherwise each open page would hold a database connection for as long as it stays open.
    """
    try:
        return model_event_current(project_id=project_id)
    finally:
        # Not in the middle of someone else's transaction (a test's, say), which closing would break.
        if not connection.in_atomic_block:
            connection.close()


def model_event_publish(*, version: ModelVersion) -> None:
    """Tell every open page of the project that `version` is now current."""
    message = {"type": "model", "project": version.project_id, "model": model_version_payload(version)}
    event_publish(version.project_id, message)


def model_events_listen(*, project_id: int, timeout: float = 15.0) -> Iterator[dict[str, Any] | None]:
    """The project's event stream, starting with its current model (live.services.events_listen)."""
    return events_listen(project_id=project_id, first=partial(model_event_on_connect, project_id=project_id),
                         timeout=timeout)


def model_events_listen_async(*, project_id: int,
                              timeout: float = 15.0) -> AsyncGenerator[dict[str, Any] | None, None]:
    """model_events_listen on redis.asyncio (live.services.events_listen_async)."""
    return events_listen_async(project_id=project_id, first=partial(model_event_on_connect, project_id=project_id),
                               timeout=timeout)
