"""Serving the next batch to label: the active-learning order, minus what is coded or held by others."""
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from labeling_app.models import Annotation, LabelQueue, Project, QueueLease, Response

LEASE = timedelta(minutes=30)
SCAN = 500


def _order(project: Project) -> list[int]:
    queue = LabelQueue.objects.filter(project=project).values_list("response_ids", flat=True).first()
    if queue:
        return list(queue)
    return list(project.responses.order_by("pk").values_list("pk", flat=True))  # before any embedding


def queue_next_batch(*, project: Project, user: User, size: int) -> list[Response]:
    """The user's next `size` responses, most useful first, leased to them so no one else gets them.

    Responses this user holds already come first (a reload shows the same batch); responses that are
    coded, or held or skipped by someone else, are left out.
    """
    now = timezone.now()
    with transaction.atomic():
        mine = list(
            QueueLease.objects.filter(project=project, user=user, skipped=False, expires_at__gt=now)
            .order_by("created_at", "pk").values_list("response_id", flat=True)
        )
        coded_mine = set(
            Annotation.objects.filter(response_id__in=mine, is_current=True, needs_recoding=False)
            .values_list("response_id", flat=True)
        )
        picked = [pk for pk in mine if pk not in coded_mine][:size]
        active = QueueLease.objects.filter(project=project, expires_at__gt=now)
        blocked = set(active.filter(skipped=False).exclude(user=user).values_list("response_id", flat=True))
        blocked |= set(active.filter(user=user, skipped=True).values_list("response_id", flat=True))
        order = _order(project)
        for start in range(0, len(order), SCAN):
            if len(picked) >= size:
                break
            chunk = [pk for pk in order[start:start + SCAN] if pk not in blocked]
            coded = set(
                Annotation.objects.filter(response_id__in=chunk, is_current=True, needs_recoding=False)
                .values_list("response_id", flat=True)
            )
            picked += [pk for pk in chunk if pk not in coded][: size - len(picked)]
        new = [pk for pk in picked if pk not in set(mine)]
        QueueLease.objects.filter(project=project, response_id__in=new, expires_at__lte=now).delete()
        QueueLease.objects.bulk_create(
            [QueueLease(project=project, response_id=pk, user=user, expires_at=now + LEASE) for pk in new],
            ignore_conflicts=True,
        )
    by_id = {r.pk: r for r in project.responses.filter(pk__in=picked)}
    return [by_id[pk] for pk in picked if pk in by_id]
