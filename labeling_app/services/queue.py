"""The labeling queue: leasing each analyst their next batch, and passing on a response.

Two analysts asking at once must not both get a response as free. A lease claims its responses by locking
their rows (PostgreSQL: `FOR NO KEY UPDATE SKIP LOCKED`), then checks them again in a new statement, which
sees every lease committed before the lock was taken, and writes its leases before it commits. Analysts
asking at the same moment therefore take different rows side by side instead of queueing on one lock per
project, and none waits on another. SQLite has no row locks: its write lock, taken when a transaction starts
(settings), serialises the claims instead.

Which rows to try is read first, without locks, from the queue order (kept per process until the next
retrain rebuilds it) and one query over its head; that read is only a hint, every claim is checked again.
"""
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from labeling_app.models import Adjudication, Annotation, LabelQueue, Membership, Project, QueueLease, Response

LEASE = timedelta(minutes=30)
#: The queue's head read in the first hint query: with 50 analysts each holding 10 and the last minutes'
#: codings not yet out of the order, the first 1,000 usually still hold a free batch.
HEAD = 1000
#: Hint rows per wanted row: spares for the rows that others claim between the hint and the lock.
SPARE_PER_ITEM = 3
SPARE_EXTRA = 20
#: Claim rounds (fresh hint each) before a lease settles for fewer rows than asked for.
ROUNDS = 3


@dataclass
class _Order:
    ids: list[int]
    rank: dict[int, int]
    # Set once the head of this build was found too taken to fill a batch: it stays so until the next build
    # (leases last 30 minutes, codings stay), so later leases skip reading it and check the whole project.
    head_spent: bool = False


_orders: "OrderedDict[tuple[int, int, str], _Order]" = OrderedDict()
_orders_lock = threading.Lock()
_ORDERS_KEPT = 32


def _order(project: Project) -> _Order:
    """The project's active-learning order, parsed once per process and queue build.

    A retrain rebuilds the queue every few seconds while analysts code; between builds 50 analysts would
    otherwise each parse the whole list on every request. Every writer of LabelQueue saves `built_at`.
    """
    row = LabelQueue.objects.filter(project=project).values_list("pk", "built_at").first()
    if row is None:
        return _Order([], {})
    key = (project.pk, row[0], row[1].isoformat())
    with _orders_lock:
        if key in _orders:
            _orders.move_to_end(key)
            return _orders[key]
    ids = list(LabelQueue.objects.filter(pk=row[0]).values_list("response_ids", flat=True).first() or [])
    order = _Order(ids, {pk: i for i, pk in enumerate(ids)})
    with _orders_lock:
        _orders[key] = order
        while len(_orders) > _ORDERS_KEPT:
            _orders.popitem(last=False)
    return order


def _likely_free(project: Project, user: User, now: datetime, only: list[int] | None) -> set[int]:
    """Responses (of ``only``, or all) that looked servable to ``user`` a moment ago, in one query.

    Overlap items are kept unless this user coded them: the claim decides on them. A hint only.
    """
    coded = Annotation.objects.filter(response=OuterRef("pk"), is_current=True, needs_recoding=False,
                                      is_complete=True)
    held = QueueLease.objects.filter(response=OuterRef("pk"), expires_at__gt=now, skipped=False).exclude(user=user)
    passed = QueueLease.objects.filter(response=OuterRef("pk"), user=user, skipped=True, expires_at__gt=now)
    rows = Response.objects.filter(project=project)
    if only is not None:
        rows = rows.filter(pk__in=only)
    rows = rows.filter(Q(~Exists(coded.filter(coder=user)), is_overlap=True)
                       | Q(~Exists(coded), ~Exists(held), is_overlap=False)).exclude(Exists(passed))
    return set(rows.values_list("pk", flat=True))


def _hint(project: Project, user: User, now: datetime, want: int, exclude: set[int]) -> tuple[list[int], bool]:
    """Up to ``want`` responses likely servable to ``user``, most useful first; and whether that is all of them.

    The head of the queue is checked first; when too little of it is free the whole project is (also the
    responses imported since the queue was built, after the queue's own, oldest first).
    """
    order = _order(project)
    head = [] if order.head_spent else [pk for pk in order.ids[:HEAD] if pk not in exclude]
    free = _likely_free(project, user, now, head) if head else set()
    found = [pk for pk in head if pk in free]
    if len(found) >= want:
        return found[:want], False
    if head:
        order.head_spent = True
    seen = set(head)
    rest = [pk for pk in _likely_free(project, user, now, None) if pk not in seen and pk not in exclude]
    end = len(order.ids)
    rest.sort(key=lambda pk: (order.rank.get(pk, end), pk))
    found += rest
    return found[:want], len(found) <= want


def _servable(project: Project, user: User, now: datetime, ids: list[int], overlap: set[int]) -> list[int]:
    """The given responses ``user`` may be served now, in the given order.

    A response goes to one analyst at a time until someone codes it whole; an overlap item (blind double
    coding) to `overlap_coders` different participating analysts, each coding it once, until it is resolved.
    Read in new statements: on PostgreSQL each sees every lease and coding committed before it started.
    """
    if not ids:
        return []
    held_by_others: dict[int, set[int]] = {}
    passed: set[int] = set()
    for response_id, user_id, skipped in QueueLease.objects.filter(
            response_id__in=ids, expires_at__gt=now).values_list("response_id", "user_id", "skipped"):
        if user_id == user.pk:
            if skipped:
                passed.add(response_id)
        elif not skipped:
            held_by_others.setdefault(response_id, set()).add(user_id)
    coders: dict[int, set[int]] = {}
    for response_id, coder_id in Annotation.objects.filter(
            response_id__in=ids, is_current=True, needs_recoding=False, is_complete=True).values_list(
            "response_id", "coder_id"):
        coders.setdefault(response_id, set()).add(coder_id)
    blind = [pk for pk in ids if pk in overlap]
    adjudicated: set[int] = set()
    takes_part = False
    if blind:
        resolved = Adjudication.objects.filter(response_id__in=blind, is_current=True, kind=Adjudication.Kind.RESOLVE)
        adjudicated = set(resolved.values_list("response_id", flat=True))
        takes_part = Membership.objects.filter(project=project, user=user, codes_overlap=True).exists()
    out = []
    for pk in ids:
        if pk in passed:
            continue
        coded_by, holders = coders.get(pk, set()), held_by_others.get(pk, set())
        if pk not in overlap:
            if not coded_by and not holders:
                out.append(pk)
        elif (takes_part and user.pk not in coded_by and pk not in adjudicated
              and len(coded_by | holders) < project.overlap_coders):
            out.append(pk)
    return out


def _claim(project: Project, user: User, now: datetime, candidates: list[int], need: int) -> list[int]:
    """Lease up to ``need`` of ``candidates`` (in their order) to ``user``; returns the ones leased.

    Rows another analyst is claiming right now are locked by them and skipped, never waited for; a locked
    row is checked again before it is leased. Takes `need` rows at a time, so a claim holds few rows others
    could have had.
    """
    taken: list[int] = []
    if not candidates:
        return taken
    with transaction.atomic():
        at = 0
        while len(taken) < need and at < len(candidates):
            window = candidates[at:at + need - len(taken)]
            at += len(window)
            locked = dict(Response.objects.filter(project=project, pk__in=window)
                          .select_for_update(skip_locked=True, no_key=True).values_list("pk", "is_overlap"))
            overlap = {pk for pk, is_overlap in locked.items() if is_overlap}
            taken += _servable(project, user, now, [pk for pk in window if pk in locked], overlap)
        if taken:
            # This user's old leases of them (expired or skipped long ago) and anyone's expired ones make way.
            QueueLease.objects.filter(Q(user=user) | Q(expires_at__lte=now), response_id__in=taken).delete()
            QueueLease.objects.bulk_create(
                [QueueLease(project=project, response_id=pk, user=user, expires_at=now + LEASE) for pk in taken])
    return taken


def queue_batch_lease(*, project: Project, user: User, size: int) -> list[Response]:
    """The user's next `size` responses, most useful first, leased to them so no one else gets them.

    Responses this user holds already come first (a reload shows the same batch); responses that are
    coded, held by someone else or skipped by this user are left out; no response appears twice. Fewer
    than `size` only when nothing else is servable (or was being claimed by someone else at that moment).
    """
    now = timezone.now()
    held = list(QueueLease.objects.filter(project=project, user=user, skipped=False, expires_at__gt=now)
                .order_by("created_at", "pk").values_list("response_id", "response__is_overlap"))
    mine = [pk for pk, _ in held]
    picked = _servable(project, user, now, mine, {pk for pk, is_overlap in held if is_overlap})[:size]
    tried = set(mine)
    for _ in range(ROUNDS):
        need = size - len(picked)
        if need <= 0:
            break
        candidates, complete = _hint(project, user, now, need * SPARE_PER_ITEM + SPARE_EXTRA, tried)
        picked += _claim(project, user, now, candidates, need)
        tried.update(candidates)
        if complete:
            break  # the hint held every free response: another round would find nothing new
    by_id = {r.pk: r for r in project.responses.filter(pk__in=picked)}
    return [by_id[pk] for pk in picked if pk in by_id]


def queue_skip(*, project: Project, user: User, response_id: int) -> None:
    """The user passes on a response: it is not served to them again for a day, and others may take it."""
    QueueLease.objects.update_or_create(
        project=project, response_id=response_id, user=user,
        defaults={"skipped": True, "expires_at": timezone.now() + timedelta(days=1)},
    )
