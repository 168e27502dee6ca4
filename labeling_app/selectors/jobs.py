from labeling_app.models import OutboxJob


def job_waiting_for_broker(*, task_name: str, **ids: int) -> bool:
    """True when the job was asked for and its send found the broker down: it waits in the outbox."""
    return OutboxJob.objects.filter(key=OutboxJob.key_for(task_name, ids), send_failed_at__isnull=False).exists()
