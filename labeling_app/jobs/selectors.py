"""Reads about jobs: which wait for the broker, and when a running job counts as lost."""
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from labeling_app.jobs.models import OutboxJob


def job_waiting_for_broker(*, task_name: str, **ids: int) -> bool:
    """True when the job was asked for and its send found the broker down: it waits in the outbox."""
    return OutboxJob.objects.filter(key=OutboxJob.key_for(task_name, ids), send_failed_at__isnull=False).exists()


def job_stale_before() -> datetime:
    """A running job whose heartbeat is older than this lost its worker (JOB_STALE_AFTER_SECONDS)."""
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
