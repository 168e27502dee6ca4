"""The labeling queue: leasing each analyst their next batch, and passing on a response.

Two analysts asking at once must not both get a response as free. A lease claims its responses by locking
their rows (PostgreSQL: `FOR NO KEY UPDATE SKIP LOCKED`), then checks them again in a new statement, which
sees every lease committed before the lock was taken, and writes its leases before it commits. Analysts
asking at the same moment therefore take different rows side by side instead of queueing on one lock per
project, and none waits on another. SQLite has no row locks: its write lock, taken when a transaction starts
(settings), serialises the claims instead.

Which rows to try is read first, without locks, from the queue order (kept per process until the next
retrain rebuilds it), checked a window at a time from its head, skipping what this process already saw taken;
that read is only a hint, every claim is checked again.
"""
import threading
import time
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from labeling_app.core.db import IN_LIST_CAP, ids_chunked, rows_insert, sql_marks, table_quoted
from labeling_app.labeling.codings import CODING_COUNTS, coding_counts_sql
from labeling_app.labeling.models import Adjudication, Annotation, AutoCode, AutoCoding, LabelQueue, QueueLease
from labeling_app.projects.models import Membership, Project, Response

LEASE = timedelta(minutes=30)
#: At most this many responses of the queue's order are checked before a lease reads the whole project
#: instead; in windows of WINDOW_PER_WANT times the rows wanted at first, each window twice the one before
#: (50 analysts take the head of one order between two builds: a few queries reach far past it).
HEAD = 10_000
WINDOW_PER_WANT = 2
MIN_WINDOW = 32
#: How long a process reuses a whole-project read of free responses while the project's responses and the
#: analysts' passes stay the same.
FREE_READ_SECONDS = 3.0
#: Hint rows per wanted row: spares for the rows that others claim between the hint and the lock.
SPARE_PER_ITEM = 3
SPARE_EXTRA = 20
#: Claim rounds (fresh hint each) before a last one that reads its hint inside the claim's transaction.
ROUNDS = 3


@dataclass
class _Order:
    ids: list[int]
    rank: dict[int, int]
    # Responses of this build seen taken for everyone (coded whole, or held by someone) since it was read:
    # later hints skip them without asking the database. With 50 analysts coding between two builds the
    # head of the order fills with them, and reading them again on every request was most of a lease's
    # cost. They stay skipped until the next build (a retrain's, every few seconds while analysts code);
    # one freed meanwhile (a lease passed on or run out) is found by the whole-project read that runs
    # whenever the walk through the order comes up short. Only ever added to (set.add is atomic).
    gone: set[int] = field(default_factory=set)
    # Every id before this index is in `gone`: walks start here instead of stepping over them one by one on every
    # request (they fill the head of the order as analysts code it). Only ever moved forward.
    start: int = 0

    def first_open(self) -> int:
        """The index of the first id not (yet) seen taken; moves `start` there."""
        at = self.start
        while at < len(self.ids) and self.ids[at] in self.gone:
            at += 1
        self.start = max(self.start, at)  # another thread may have moved it further meanwhile
        return at


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


def _coded(**filters: object) -> "QuerySet[Annotation]":
    return Annotation.objects.filter(CODING_COUNTS, **filters)


def _window_check(project: Project, user: User, now: datetime, ids: list[int]) -> tuple[set[int], set[int]]:
    """Of ``ids``: those that looked servable to ``user`` a moment ago, and those taken for everyone.

    Overlap items are kept unless this user coded them: the claim decides on them. One query per IN_LIST_CAP
    ids; a hint only. Written in SQL: built with the ORM (four Exists subqueries over a window of ids) its
    Python cost was several times the statement's, on a read every queue request makes.
    """
    at = connection.ops.adapt_datetimefield_value(now)
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in ids_chunked(ids):
            cursor.execute(_WINDOW_SQL.format(ids=sql_marks(len(chunk))),
                           [user.pk, at, user.pk, user.pk, at, project.pk, *chunk])
            rows += cursor.fetchall()
    free: set[int] = set()
    gone: set[int] = set()
    for pk, is_overlap, coded, mine, held, passed in rows:
        if is_overlap:
            if not mine and not passed:
                free.add(pk)
        elif coded or held:
            gone.add(pk)
        elif not passed:
            free.add(pk)
    return free, gone


# `_coded` per response (labeling.codings). Then, in order: anyone's coding, this user's (coder %s), someone
# else's live lease (now %s, user %s), this user's live pass (user %s, now %s); the window is the project's (%s)
# responses of the given ids.
_CODED = f"SELECT 1 FROM {table_quoted(Annotation)} a WHERE a.response_id = r.id AND {coding_counts_sql('a')}"
_LEASES = f"SELECT 1 FROM {table_quoted(QueueLease)} q WHERE q.response_id = r.id"
# The model's codes of an active auto-coding, but for the blind check's (people code those): no coder serves them.
_AUTO = (f"SELECT x.response_id FROM {table_quoted(AutoCode)} x JOIN {table_quoted(AutoCoding)} c "
         f"ON c.id = x.auto_coding_id WHERE c.undone_at IS NULL AND NOT x.in_qc")
_WINDOW_SQL = (
    f"SELECT r.id, r.is_overlap, EXISTS({_CODED}) OR r.id IN ({_AUTO}), EXISTS({_CODED} AND a.coder_id = %s), "
    f"EXISTS({_LEASES} AND q.expires_at > %s AND NOT q.skipped AND q.user_id <> %s), "
    f"EXISTS({_LEASES} AND q.user_id = %s AND q.skipped AND q.expires_at > %s) "
    f"FROM {table_quoted(Response)} r WHERE r.project_id = %s AND r.id IN ({{ids}})"
)
# Live leases (now %s) and codings that count (as `_coded`) of the given response ids, one row each.
_SERVABLE_SQL = (
    f"SELECT 0, q.response_id, q.user_id, q.skipped FROM {table_quoted(QueueLease)} q "
    "WHERE q.expires_at > %s AND q.response_id IN ({ids}) UNION ALL "
    f"SELECT 1, a.response_id, a.coder_id, FALSE FROM {table_quoted(Annotation)} a "
    f"WHERE {coding_counts_sql('a')} AND a.response_id IN ({{ids}}) UNION ALL "
    f"SELECT 1, x.response_id, 0, FALSE FROM ({_AUTO}) x WHERE x.response_id IN ({{ids}})"
)


@dataclass(frozen=True)
class _FreeRead:
    last_response: int
    passes: int
    at: float
    free: frozenset[int]  # responses not in overlap that nobody had coded whole or held
    has_overlap: bool


# By project id and creation time (an id can come again after a rolled-back transaction on SQLite).
_free_reads: "OrderedDict[tuple[int, datetime], _FreeRead]" = OrderedDict()
_free_read_locks: dict[tuple[int, datetime], threading.Lock] = {}


def _project_free(project: Project, user: User, now: datetime) -> set[int]:
    """The responses of the project that looked servable to ``user`` lately (a hint, as above).

    Only asked when the order is used up (or the project has none): while 50 analysts code the last responses
    of an order, or once a project is coded, every request of every analyst asks it again, and each read
    scans the project. So a read is kept per process and project for FREE_READ_SECONDS unless responses are
    added or passed meanwhile, and one request at a time makes it (the others wait for it, instead of all
    scanning at once). Responses taken since are weeded out by the live checks of `_walk`; one freed since (a
    lease given up or run out) is seen that much later. Plain anti-joins, no OR between them, so PostgreSQL
    hashes each side once.
    """
    last_response = project.responses.aggregate(last=Max("pk"))["last"] or 0
    passes = QueueLease.objects.filter(project=project, skipped=True, expires_at__gt=now).count()
    key = (project.pk, project.created_at)
    with _orders_lock:
        lock = _free_read_locks.setdefault(key, threading.Lock())
    with lock:
        read = _free_reads.get(key)
        if read is None or (read.last_response, read.passes) != (last_response, passes) or \
                time.monotonic() - read.at > FREE_READ_SECONDS:
            held = QueueLease.objects.filter(response=OuterRef("pk"), expires_at__gt=now, skipped=False)
            auto = AutoCode.objects.filter(response=OuterRef("pk"), in_qc=False, auto_coding__undone_at__isnull=True)
            rows = project.responses.filter(is_overlap=False).exclude(Exists(_coded(response=OuterRef("pk")))) \
                .exclude(Exists(held)).exclude(Exists(auto))
            read = _FreeRead(last_response, passes, time.monotonic(), frozenset(rows.values_list("pk", flat=True)),
                             project.responses.filter(is_overlap=True).exists())
            with _orders_lock:
                _free_reads[key] = read
                while len(_free_reads) > _ORDERS_KEPT:
                    _free_read_locks.pop(_free_reads.popitem(last=False)[0], None)
    free = set(read.free)
    mine_passed = QueueLease.objects.filter(project=project, user=user, skipped=True, expires_at__gt=now)
    if passes:
        free -= set(mine_passed.values_list("response_id", flat=True))
    if read.has_overlap:
        passed = mine_passed.filter(response=OuterRef("pk"))
        coded_by_me = _coded(response=OuterRef("pk"), coder=user)
        free |= set(project.responses.filter(is_overlap=True).exclude(Exists(coded_by_me)).exclude(Exists(passed))
                    .values_list("pk", flat=True))
    return free


def _walk(project: Project, user: User, now: datetime, ids: list[int], want: int,
          skip: set[int], gone: set[int], limit: int, start: int = 0) -> tuple[list[int], bool]:
    """The first ``want`` of ``ids`` (less ``skip``) that look servable to ``user`` now, and whether all of
    ``ids`` were checked.

    Checked with live queries in growing windows (WINDOW_PER_WANT times ``want`` first, each twice the one
    before), at most ``limit`` ids from index ``start``; those found taken for everyone are added to ``gone``.
    """
    found: list[int] = []
    at, checked = start, 0
    size = max(WINDOW_PER_WANT * want, MIN_WINDOW)
    while len(found) < want and at < len(ids) and checked < limit:
        window: list[int] = []
        size, wanted = size * 2, size
        while at < len(ids) and len(window) < min(wanted, limit - checked):
            pk = ids[at]
            at += 1
            if pk not in skip and pk not in gone:
                window.append(pk)
        checked += len(window)
        if window:
            free, taken = _window_check(project, user, now, window)
            gone.update(taken)
            found += [pk for pk in window if pk in free]
    return found[:want], at >= len(ids)


def _hint(project: Project, user: User, now: datetime, want: int, exclude: set[int],
          enough: int | None = None) -> tuple[list[int], bool]:
    """Up to ``want`` responses likely servable to ``user``, most useful first; and whether that is all of them.

    The order is walked from its head, skipping what this process saw taken since the build; when that finds
    fewer than ``enough`` (the rows actually needed; ``want`` adds spares) the project's other free responses
    are walked too (those imported since the queue was built after the queue's own, oldest first).
    """
    order = _order(project)
    found, _ = _walk(project, user, now, order.ids, want, exclude, order.gone, HEAD, start=order.first_open())
    if len(found) >= (want if enough is None else enough):
        return found, False
    seen = set(found)
    # The free responses of the order in its order, then the rest by id. Sorted with the rank dict's own lookup
    # as key: with a lambda, a project's thousands of free responses cost ms of Python on every request.
    rank = order.rank
    free = [pk for pk in _project_free(project, user, now) if pk not in seen]
    ranked = sorted((pk for pk in free if pk in rank), key=rank.__getitem__)
    rest = ranked + sorted(pk for pk in free if pk not in rank)
    # Not skipping `order.gone` here: this read is what finds a response freed since the walk marked it taken.
    # All of it may be checked (the windows double, so a few queries): it holds only recently free responses.
    more, checked_all = _walk(project, user, now, rest, want - len(found), exclude, set(), len(rest))
    found += more
    return found, checked_all and len(found) < want


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
    coders: dict[int, set[int]] = {}
    # Live leases and codings of the ids in one statement per chunk (SQL for the same reason as _window_check's;
    # it lists the ids three times, so a third of the cap of ids a chunk).
    at = connection.ops.adapt_datetimefield_value(now)
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in ids_chunked(ids, IN_LIST_CAP // 3):
            marks = sql_marks(len(chunk))
            cursor.execute(_SERVABLE_SQL.format(ids=marks), [at, *chunk, *chunk, *chunk])
            rows += cursor.fetchall()
    for is_coding, response_id, user_id, skipped in rows:
        if is_coding:
            coders.setdefault(response_id, set()).add(user_id)
        elif user_id == user.pk:
            if skipped:
                passed.add(response_id)
        elif not skipped:
            held_by_others.setdefault(response_id, set()).add(user_id)
    blind = [pk for pk in ids if pk in overlap]
    adjudicated: set[int] = set()
    takes_part = False
    if blind:
        resolved = Adjudication.objects.filter(is_current=True, kind=Adjudication.Kind.RESOLVE)
        for chunk in ids_chunked(blind):
            adjudicated.update(resolved.filter(response_id__in=chunk).values_list("response_id", flat=True))
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


def _claim(project: Project, user: User, now: datetime, candidates: list[int], need: int) -> list[Response]:
    """Lease up to ``need`` of ``candidates`` (in their order) to ``user``; returns the ones leased (their rows,
    read by the statement that locks them).

    Rows another analyst is claiming right now are locked by them and skipped, never waited for; a locked
    row is checked again before it is leased. Takes `need` rows at a time, so a claim holds few rows others
    could have had.
    """
    taken: list[Response] = []
    if not candidates:
        return taken
    with transaction.atomic():
        at = 0
        while len(taken) < need and at < len(candidates):
            window = candidates[at:at + need - len(taken)]
            at += len(window)
            locked = {r.pk: r for r in Response.objects.filter(project=project, pk__in=window)
                      .select_for_update(skip_locked=True, no_key=True)}
            overlap = {pk for pk, r in locked.items() if r.is_overlap}
            taken += [locked[pk] for pk in _servable(project, user, now, [pk for pk in window if pk in locked],
                                                     overlap)]
        if taken:
            _leases_write(project, user, now, [r.pk for r in taken])
    return taken


def _leases_write(project: Project, user: User, now: datetime, ids: list[int]) -> None:
    """Lease ``ids`` to ``user``: their old leases (expired, or skipped long ago) and anyone's expired ones make way.

    Plain statements: a lease is written on every queue request, and the ORM's delete and bulk_create cost
    several times as much Python for the same statements.
    """
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for chunk in ids_chunked(ids):
            cursor.execute(f"DELETE FROM {table_quoted(QueueLease)} WHERE (user_id = %s OR expires_at <= %s) "
                           f"AND response_id IN ({sql_marks(len(chunk))})", [user.pk, at, *chunk])
    rows_insert(QueueLease(project=project, user=user, skipped=False, expires_at=now + LEASE), ("response_id",),
                [(pk,) for pk in ids])


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
    rows: dict[int, Response] = {}
    for round_number in range(ROUNDS + 1):
        need = size - len(picked)
        if need <= 0:
            break
        # Others may claim every hinted row between the hint and the claim, round after round. The last round
        # reads its hint inside the claim's transaction: on SQLite that holds the write lock, so nothing it
        # reads is taken before it claims and a batch comes back short only when nothing else is free.
        with transaction.atomic() if round_number == ROUNDS else nullcontext():
            candidates, complete = _hint(project, user, now, need * SPARE_PER_ITEM + SPARE_EXTRA, tried,
                                         enough=need)
            claimed = _claim(project, user, now, candidates, need)
        rows.update((r.pk, r) for r in claimed)
        picked += [r.pk for r in claimed]
        tried.update(candidates)
        if complete:
            break  # the hint held every free response: another round would find nothing new
    held_rows = [pk for pk in picked if pk not in rows]
    if held_rows:
        rows.update((r.pk, r) for r in project.responses.filter(pk__in=held_rows))
    return [rows[pk] for pk in picked if pk in rows]


def queue_skips_check(*, project: Project, response_ids: list[int]) -> None:
    """Every response to pass on is the project's: Http404 otherwise (another project's id is not found here,
    as everywhere in the API), before anything of the request is saved."""
    wanted = set(response_ids)
    if not wanted:  # nothing passed on (most submits): no query
        return
    if len(wanted) != project.responses.filter(pk__in=wanted).count():
        raise Http404("No such response in this project.")


def queue_skip(*, project: Project, user: User, response_id: int) -> None:
    """The user passes on a response: it is not served to them again for a day, and others may take it.
    Http404 when the response is not the project's."""
    queue_skips_check(project=project, response_ids=[response_id])
    QueueLease.objects.update_or_create(
        project=project, response_id=response_id, user=user,
        defaults={"skipped": True, "expires_at": timezone.now() + timedelta(days=1)},
    )
