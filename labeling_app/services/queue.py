"""The labeling queue: leasing each analyst their next batch under a lock, and passing on a response.

Leasing reads who holds what and then writes new leases; two analysts asking at once must not both see a
response as free. Within a project the read and the write happen under one lock: a PostgreSQL advisory
lock per project, or SQLite's database write lock, which every transaction takes at its start (settings).
"""
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from labeling_app.models import Annotation, LabelQueue, Project, QueueLease, Response

LEASE = timedelta(minutes=30)
SCAN = 500
# Advisory lock keys are one bigint: this namespace in the high bits, the project id in the low 40.
_LOCK_NAMESPACE = 0x7451 << 40


def _queue_lock(project_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_NAMESPACE + project_id])


def _order(project: Project) -> list[int]:
    """The active-learning order, then responses it does not hold yet (imported since it was built)."""
    ids = list(LabelQueue.objects.filter(project=project).values_list("response_ids", flat=True).first() or [])
    if len(ids) == project.responses.count():
        return ids
    known = set(ids)
    return ids + [pk for pk in project.responses.order_by("pk").values_list("pk", flat=True) if pk not in known]


def _coded(response_ids: list[int]) -> set[int]:
    # Coded means someone considered every theme: labels added one theme at a time in bulk do not count.
    return set(
        Annotation.objects.filter(response_id__in=response_ids, is_current=True, needs_recoding=False,
                                  is_complete=True).values_list("response_id", flat=True)
    )


def queue_batch_lease(*, project: Project, user: User, size: int) -> list[Response]:
    """The user's next `size` responses, most useful first, leased to them so no one else gets them.

    Responses this user holds already come first (a reload shows the same batch); responses that are
    coded, held by someone else or skipped by this user are left out; no response appears twice.
    """
    now = timezone.now()
    with transaction.atomic():
        _queue_lock(project.pk)
        mine = list(
            QueueLease.objects.filter(project=project, user=user, skipped=False, expires_at__gt=now)
            .order_by("created_at", "pk").values_list("response_id", flat=True)
        )
        coded_mine = _coded(mine)
        picked = [pk for pk in mine if pk not in coded_mine][:size]
        active = QueueLease.objects.filter(project=project, expires_at__gt=now)
        blocked = set(active.filter(skipped=False).exclude(user=user).values_list("response_id", flat=True))
        blocked |= set(active.filter(user=user, skipped=True).values_list("response_id", flat=True))
        blocked |= set(mine)  # held ones were considered above, coded or not
        order = _order(project)
        for start in range(0, len(order), SCAN):
            if len(picked) >= size:
                break
            chunk = [pk for pk in order[start:start + SCAN] if pk not in blocked]
            coded = _coded(chunk)
            picked += [pk for pk in chunk if pk not in coded][: size - len(picked)]
        held = set(mine)
        new = [pk for pk in picked if pk not in held]
        QueueLease.objects.filter(project=project, response_id__in=new, expires_at__lte=now).delete()
        QueueLease.objects.bulk_create(
            [QueueLease(project=project, response_id=pk, user=user, expires_at=now + LEASE) for pk in new],
            ignore_conflicts=True,
        )
    by_id = {r.pk: r for r in project.responses.filter(pk__in=picked)}
    return [by_id[pk] for pk in picked if pk in by_id]


def queue_skip(*, project: Project, user: User, response_id: int) -> None:
    """The user passes on a response: it is not served to them again for a day, and others may take it."""
    QueueLease.objects.update_or_create(
        project=project, response_id=response_id, user=user,
        defaults={"skipped": True, "expires_at": timezone.now() + timedelta(days=1)},
    )
