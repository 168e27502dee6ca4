"""Side effects after commit: tasks are enqueued only once the data they read is committed."""
from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, **ids: int) -> None:
    """Send `task` with keyword ids once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task.apply_async(kwargs=ids))
