"""The labeling queue: leasing each analyst their next batch under a lock, and passing on a response.

Leasing reads who holds what and then writes new leases; two analysts asking at once must not both see a
response as free. Within a project the read and the write happen under one lock: a PostgreSQL advisory
lock per project, or SQLite's database write lock, which every transaction takes at its start (settings).
"""
from collections import defaultdict
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from labeling_app.models import Annotation, LabelQueue, Membership, Project, QueueLease, Response
from labeling_app.selectors.consensus import Codings, codings_read

LEASE = timedelta(minutes=30)
SCAN = 500
#: Candidates read before the lock: enough that analysts asking at the same moment (same snapshot) each find
#: a batch among them after those ahead took theirs.
CANDIDATES_PER_ITEM = 10
CANDIDATES_EXTRA = 100
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


class _Servable:
    """Which responses may be served to one analyst now (reads what it needs a chunk at a time).

    A response is served to one analyst at a time until someone codes it whole; an overlap item (blind
    double coding) to `overlap_coders` different participating analysts, each coding it once, until it is
    resolved.
    """

    def __init__(self, project: Project, user: User, now: datetime, only: list[int] | None = None) -> None:
        """What decides servability now; with ``only``, read for those responses alone (a short check)."""
        self.project, self.user = project, user
        active = QueueLease.objects.filter(project=project, expires_at__gt=now)
        responses = project.responses.all()
        coded = Annotation.objects.filter(response__project=project, is_current=True, needs_recoding=False,
                                          is_complete=True)
        if only is not None:
            active = active.filter(response_id__in=only)
            responses = responses.filter(pk__in=only)
            coded = coded.filter(response_id__in=only)
        self.held_by_others: dict[int, set[int]] = defaultdict(set)
        for response_id, user_id in active.filter(skipped=False).exclude(user=user).values_list(
                "response_id", "user_id"):
            self.held_by_others[response_id].add(user_id)
        self.skipped = set(active.filter(user=user, skipped=True).values_list("response_id", flat=True))
        self.overlap = set(responses.filter(is_overlap=True).values_list("pk", flat=True))
        self.takes_part = Membership.objects.filter(project=project, user=user, codes_overlap=True).exists()
        # Responses someone has coded whole: the queue's head fills with them between retrains, and reading
        # their codings chunk by chunk under the lock made every analyst wait (seconds with 50 analysts).
        self.coded = set(coded.values_list("response_id", flat=True))

    def maybe(self, response_id: int) -> bool:
        """False for a response `filter` would certainly refuse, known without reading codings (a fast scan)."""
        if response_id in self.skipped:
            return False
        if response_id in self.overlap:
            return True
        return response_id not in self.coded and not self.held_by_others[response_id]

    def filter(self, response_ids: list[int]) -> list[int]:
        """The given responses this analyst may be served, in the given order."""
        codings = codings_read(project=self.project, response_ids=response_ids)
        return [r for r in response_ids if r not in self.skipped and self._servable(codings, r)]

    def _servable(self, codings: Codings, response_id: int) -> bool:
        coders = set(codings.complete.get(response_id, {}))
        if response_id not in self.overlap:
            return not coders and not self.held_by_others[response_id]
        if not self.takes_part or self.user.pk in coders or response_id in codings.adjudicated:
            return False
        return len(coders | self.held_by_others[response_id]) < self.project.overlap_coders


def _candidates(project: Project, user: User, now: datetime, want: int) -> list[int]:
    """Up to ``want`` responses likely servable to ``user``, in queue order, read without the lock.

    A snapshot: others may lease some of them before this analyst takes the lock, so the lease checks
    them again under it. Reading the whole queue state under the lock made 50 analysts wait on each other.
    Fewer than ``want`` means the whole queue was looked at: nothing else was servable a moment ago.
    """
    servable = _Servable(project, user, now)
    held = set(QueueLease.objects.filter(project=project, user=user, skipped=False, expires_at__gt=now)
               .values_list("response_id", flat=True))
    out: list[int] = []
    for pk in _order(project):
        if pk not in held and servable.maybe(pk):
            out.append(pk)
            if len(out) >= want:
                break
    return out


def queue_batch_lease(*, project: Project, user: User, size: int) -> list[Response]:
    """The user's next `size` responses, most useful first, leased to them so no one else gets them.

    Responses this user holds already come first (a reload shows the same batch); responses that are
    coded, held by someone else or skipped by this user are left out; no response appears twice.
    Candidates are picked from a snapshot before the lock (:func:`_candidates`) and checked under it; only
    when too few of them are still free, and the snapshot did not cover the whole queue, does the lease scan
    the whole queue under the lock.
    """
    now = timezone.now()
    want = CANDIDATES_PER_ITEM * size + CANDIDATES_EXTRA
    hint = _candidates(project, user, now, want=want)
    with transaction.atomic():
        _queue_lock(project.pk)
        mine = list(
            QueueLease.objects.filter(project=project, user=user, skipped=False, expires_at__gt=now)
            .order_by("created_at", "pk").values_list("response_id", flat=True)
        )
        held = set(mine)  # held ones are considered first, servable or not
        servable = _Servable(project, user, now, only=mine + [pk for pk in hint if pk not in held])
        picked = servable.filter(mine)[:size]
        picked += servable.filter([pk for pk in hint if pk not in held and servable.maybe(pk)])[: size - len(picked)]
        # Scan the whole queue under the lock only when the snapshot stopped early: when it went through all
        # of it (the queue nearly done), a scan would find nothing more and made every analyst wait.
        if len(picked) < size and len(hint) >= want:
            servable = _Servable(project, user, now)
            seen = held | set(picked)
            order = _order(project)
            for start in range(0, len(order), SCAN):
                if len(picked) >= size:
                    break
                chunk = [pk for pk in order[start:start + SCAN] if pk not in seen and servable.maybe(pk)]
                if chunk:
                    picked += servable.filter(chunk)[: size - len(picked)]
        new = [pk for pk in picked if pk not in held]
        # This user's old leases of them (expired or skipped long ago) and anyone's expired ones make way.
        QueueLease.objects.filter(Q(user=user) | Q(expires_at__lte=now), project=project, response_id__in=new).delete()
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
