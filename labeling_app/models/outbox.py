import json
from typing import Any

from django.db import models


class OutboxJob(models.Model):
    """A background job asked for and not yet handed to the broker (see services.jobs).

    Written in the transaction that asks for the job, deleted once the broker has the message: while
    Redis is down the rows wait here, and the workers' sweep sends them when it is back.
    """

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    # task and kwargs in one string: repeated requests for the same job (a retrain per label batch) are sent once.
    key = models.CharField(max_length=255, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set when a send after commit found the broker down: the request that asked is answered 202, and the
    # sweep sends it without waiting for its grace period.
    send_failed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def key_for(task_name: str, ids: dict[str, Any]) -> str:
        """The same task with the same ids is the same job (sent once however often asked)."""
        return f"{task_name}:{json.dumps(ids, sort_keys=True)}"[:255]
