"""Live updates: model events published on a Redis channel per project, read by the pages' event stream."""
import json
from collections.abc import Iterator
from typing import Any

import redis
from django.conf import settings

from labeling_app.models import ModelVersion


def channel(project_id: int) -> str:
    # Pub/sub channels are shared by all Redis databases: the installation's prefix keeps two setups apart.
    return f"{settings.REDIS_KEY_PREFIX}project:{project_id}:events"


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


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
        "made_current_at": version.made_current_at.isoformat() if version.made_current_at else None,
    }


def model_event_publish(*, version: ModelVersion) -> None:
    """Tell every open page of the project that `version` is now current."""
    message = {"type": "model", "project": version.project_id, "model": model_version_payload(version)}
    _client().publish(channel(version.project_id), json.dumps(message))


def events_listen(*, project_id: int, timeout: float = 15.0) -> Iterator[dict[str, Any] | None]:
    """Yield the project's events as they come; None after `timeout` seconds of quiet (for keep-alives)."""
    pubsub = _client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(project_id))
    try:
        while True:
            message = pubsub.get_message(timeout=timeout)
            yield json.loads(message["data"]) if message else None
    finally:
        pubsub.close()
