"""Leasing batches: no repeats, no response held by two analysts, new and partly coded responses served."""
import threading
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling_app.core.db import IN_LIST_CAP
from labeling_app.labeling.models import Annotation, LabelQueue, QueueLease
from labeling_app.labeling.services import queue
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit, annotations_add_theme
from labeling_app.labeling.services.queue import queue_batch_lease, queue_skip
from labeling_app.labeling.services.theme_recode import theme_split
from labeling_app.projects.models import Response, Role
from tests.factories import MembershipFactory, ProjectFactory, ThemeFactory, UserFactory


def _project(n_responses: int, *analysts):
    project = ProjectFactory()
    for user in analysts:
        MembershipFactory(project=project, user=user, role=Role.ANALYST)
    Response.objects.bulk_create(
        Response(project=project, respondent_id=f"R{i:05d}", text=f"answer number {i}") for i in range(n_responses)
    )
    return project


@pytest.mark.django_db
def test_a_batch_after_a_partial_submit_holds_no_response_twice(analyst):
    project = _project(40, analyst)
    theme = ThemeFactory(project=project)
    first = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(pk, [theme.pk]) for pk in first[:3]])
    again = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    assert len(again) == len(set(again)) == 10
    assert again[:7] == first[3:]  # the held ones first, in the order they were served
    assert not set(again) & set(first[:3])
    # A reload (same request again) gives the same batch, still without repeats.
    assert [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)] == again


@pytest.mark.django_db
def test_candidates_taken_by_another_analyst_before_the_claim_are_not_served_twice(analyst, monkeypatch):
    """Candidates are a hint read before the claim; another analyst may lease them all in between."""
    other = UserFactory(username="quick-other")
    project = _project(60, analyst, other)
    real = queue._hint
    taken: list[int] = []

    def hint_then_someone_is_quicker(project, user, now, want, exclude, enough=None):
        found, complete = real(project, user, now, want, exclude, enough)
        if user == analyst and not taken:  # the other analyst takes this hint's rows and more
            taken.extend(r.pk for r in queue_batch_lease(project=project, user=other, size=len(found)))
        return found, complete

    monkeypatch.setattr(queue, "_hint", hint_then_someone_is_quicker)
    monkeypatch.setattr(queue, "SPARE_PER_ITEM", 1)
    monkeypatch.setattr(queue, "SPARE_EXTRA", 5)
    batch = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    assert len(taken) == 15
    assert len(batch) == len(set(batch)) == 10  # a full batch from the rest of the queue
    assert not set(batch) & set(taken)
    assert QueueLease.objects.filter(project=project, response_id__in=batch).count() == 10


@pytest.mark.django_db
def test_the_last_responses_are_shared_out_without_repeats(analyst):
    other, third = UserFactory(username="last-other"), UserFactory(username="last-third")
    project = _project(12, analyst, other, third)
    first = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    rest = [r.pk for r in queue_batch_lease(project=project, user=other, size=10)]
    assert len(first) == 10 and len(rest) == 2 and not set(first) & set(rest)
    assert queue_batch_lease(project=project, user=third, size=10) == []
    # A reload keeps each one's batch.
    assert [r.pk for r in queue_batch_lease(project=project, user=other, size=10)] == rest


@pytest.mark.django_db
def test_skipped_responses_are_not_served_to_the_same_analyst_again(analyst):
    project = _project(12, analyst)
    first = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=5)]
    queue_skip(project=project, user=analyst, response_id=first[0])
    again = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=5)]
    assert first[0] not in again and len(set(again)) == 5


@pytest.mark.django_db
def test_responses_imported_after_the_queue_was_built_are_served(analyst):
    project = _project(6, analyst)
    old = list(project.responses.values_list("pk", flat=True))
    LabelQueue.objects.create(project=project, response_ids=old[::-1], strategy="test")
    Response.objects.bulk_create(Response(project=project, respondent_id=f"N{i}", text=f"new {i}") for i in range(4))
    new = set(project.responses.exclude(pk__in=old).values_list("pk", flat=True))
    batch = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    assert batch[:6] == old[::-1]  # the model's order first
    assert set(batch[6:]) == new


@pytest.mark.django_db
def test_a_response_with_only_bulk_accepted_labels_stays_available_for_full_coding(analyst):
    project = _project(5, analyst)
    price, delivery = ThemeFactory(project=project), ThemeFactory(project=project)
    ids = list(project.responses.values_list("pk", flat=True))
    annotations_add_theme(project=project, user=analyst, response_ids=ids[:3], theme_id=price.pk,
                          source=Annotation.Source.SUGGESTION)
    served = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=5)]
    assert set(ids[:3]) <= set(served)
    # Coding one whole takes it out; adding a theme in bulk afterwards keeps it coded.
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(ids[0], [price.pk, delivery.pk])])
    annotations_add_theme(project=project, user=analyst, response_ids=[ids[0], ids[1]], theme_id=delivery.pk)
    current = {a.response_id: a for a in Annotation.objects.filter(response_id__in=ids[:2], is_current=True)}
    assert current[ids[0]].is_complete and not current[ids[1]].is_complete
    QueueLease.objects.all().delete()
    served = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=5)]
    assert ids[0] not in served and ids[1] in served


@pytest.mark.django_db
def test_beyond_a_taken_head_the_queue_order_is_kept(analyst, monkeypatch):
    """When the head read first is all taken, the rest of the queue is served in the model's order."""
    other = UserFactory(username="head-other")
    project = _project(30, analyst, other)
    order = list(project.responses.order_by("-pk").values_list("pk", flat=True))[::2] + \
        list(project.responses.order_by("-pk").values_list("pk", flat=True))[1::2]
    LabelQueue.objects.create(project=project, response_ids=order, strategy="test")
    monkeypatch.setattr(queue, "HEAD", 5)
    assert [r.pk for r in queue_batch_lease(project=project, user=other, size=8)] == order[:8]
    assert [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)] == order[8:18]


@pytest.mark.django_db
def test_a_rebuilt_queue_is_served_in_its_new_order(analyst):
    """The order is kept per process until the queue is rebuilt: a new build (or a theme split) is seen at once."""
    project = _project(20, analyst)
    theme = ThemeFactory(project=project)
    ids = list(project.responses.values_list("pk", flat=True))
    LabelQueue.objects.create(project=project, response_ids=ids, strategy="test")
    assert [r.pk for r in queue_batch_lease(project=project, user=analyst, size=3)] == ids[:3]
    QueueLease.objects.all().delete()
    LabelQueue.objects.update_or_create(project=project, defaults={"response_ids": ids[::-1]})
    assert [r.pk for r in queue_batch_lease(project=project, user=analyst, size=3)] == ids[::-1][:3]
    # A split puts the responses to recode first.
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(ids[5], [theme.pk])])
    QueueLease.objects.all().delete()
    theme_split(project=project, theme=theme, names=["Left", "Right"])
    assert [r.pk for r in queue_batch_lease(project=project, user=analyst, size=2)] == [ids[5], ids[-1]]


LEASERS = 8


def _all_at_once(users, work, *, timeout: float) -> None:
    """Run work(user) in a thread per user, released together; an exception in any thread fails the test."""
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def run(user) -> None:
        try:
            barrier.wait()
            work(user)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("responses", [200, 50], ids=["plenty", "scarce"])
def test_analysts_leasing_at_the_same_moment_get_disjoint_batches(responses):
    """8 analysts ask for 10 at once: on PostgreSQL each claims rows the others have not locked (SKIP LOCKED).

    With fewer responses than asked for, every response is still served, each to one analyst.
    """
    users = [UserFactory(username=f"at-once-{i}") for i in range(LEASERS)]
    project = _project(responses, *users)
    ids = list(project.responses.values_list("pk", flat=True))
    LabelQueue.objects.create(project=project, response_ids=ids, strategy="test")
    served: dict[int, list[int]] = {}

    def lease(user) -> None:
        served[user.pk] = [r.pk for r in queue_batch_lease(project=project, user=user, size=10)]

    _all_at_once(users, lease, timeout=120)
    every = [pk for batch in served.values() for pk in batch]
    assert len(every) == len(set(every)) == min(responses, LEASERS * 10)
    if responses >= LEASERS * 10:
        assert all(len(batch) == 10 for batch in served.values())
    leases = list(QueueLease.objects.filter(project=project).values_list("response_id", "user_id"))
    assert sorted(leases) == sorted((pk, user_id) for user_id, batch in served.items() for pk in batch)


THREADS, BATCHES, SIZE = 10, 20, 5


@pytest.mark.django_db(transaction=True)
def test_parallel_analysts_never_hold_the_same_response():
    """10 analysts ask for 20 batches each at once; each codes half of every batch before the next.

    CI runs it on PostgreSQL, where leases claim rows with SKIP LOCKED, and on SQLite, which serialises writers.
    """
    users = [UserFactory(username=f"parallel-{i}") for i in range(THREADS)]
    project = _project(THREADS * BATCHES * SIZE + 50, *users)
    theme = ThemeFactory(project=project)
    served: dict[int, list[list[int]]] = defaultdict(list)

    def analyst_works(user) -> None:
        for _ in range(BATCHES):
            batch = [r.pk for r in queue_batch_lease(project=project, user=user, size=SIZE)]
            served[user.pk].append(batch)
            done = batch[: max(1, len(batch) // 2)]
            annotation_submit(project=project, user=user, items=[AnnotationItem(pk, [theme.pk]) for pk in done])

    _all_at_once(users, analyst_works, timeout=300)
    assert all(len(batches) == BATCHES for batches in served.values())
    holders: dict[int, set[int]] = defaultdict(set)
    for user_id, batches in served.items():
        for batch in batches:
            assert len(batch) == len(set(batch)) == SIZE, batch  # never a repeat, never short
            for pk in batch:
                holders[pk].add(user_id)
    shared = {pk: users for pk, users in holders.items() if len(users) > 1}
    assert not shared, f"{len(shared)} responses were served to two analysts"
    # Every response coded once, by the one analyst who held it.
    coded = Annotation.objects.filter(response__project=project, is_current=True)
    assert coded.count() == len(set(coded.values_list("response_id", flat=True)))


@pytest.mark.django_db
def test_a_batch_is_full_though_others_claim_every_hinted_row_round_after_round(analyst, monkeypatch):
    """Another analyst takes every row of each hint between the hint and the claim (as 10 threads on SQLite
    can): the last round reads its hint inside the claim's transaction, so the batch is still full."""
    other = UserFactory(username="claims-first")
    project = _project(400, analyst, other)
    real_hint, stolen, hints = queue._hint, set(), []

    def hint_then_stolen(project, user, now, want, exclude, enough=None):
        candidates, complete = real_hint(project, user, now, want, exclude, enough=enough)
        hints.append(candidates)
        if len(hints) <= queue.ROUNDS:
            queue._leases_write(project, other, now, candidates)
            stolen.update(candidates)
        return candidates, complete

    monkeypatch.setattr(queue, "_hint", hint_then_stolen)
    batch = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=5)]
    assert len(hints) == queue.ROUNDS + 1
    assert len(batch) == len(set(batch)) == 5 and not stolen & set(batch)
    assert set(QueueLease.objects.filter(user=analyst).values_list("response_id", flat=True)) == set(batch)


@pytest.mark.django_db
def test_a_coded_project_is_not_scanned_again_on_every_request(analyst, django_assert_max_num_queries):
    """Once every response is coded, each analyst's request asks again; the project's free responses are read
    once per FREE_READ_SECONDS per process, not once per request."""
    project = _project(30, analyst)
    theme = ThemeFactory(project=project)
    annotation_submit(project=project, user=analyst, items=[
        AnnotationItem(pk, [theme.pk]) for pk in project.responses.values_list("pk", flat=True)])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        assert queue_batch_lease(project=project, user=analyst, size=10) == []
    with CaptureQueriesContext(connection) as again:
        assert queue_batch_lease(project=project, user=analyst, size=10) == []
    scans = [q["sql"] for q in first.captured_queries if "NOT (EXISTS" in q["sql"]]
    assert scans, first.captured_queries  # the first request read the project ...
    assert not [q["sql"] for q in again.captured_queries if "NOT (EXISTS" in q["sql"]]  # ... the second did not
    assert len(again.captured_queries) < len(first.captured_queries)


@pytest.mark.django_db
def test_a_passed_response_and_new_responses_are_served_at_once_though_a_read_is_kept(analyst):
    """The kept read of free responses is dropped when a response is passed on or responses are added."""
    other = UserFactory(username="kept-other")
    project = _project(3, analyst, other)
    held = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    assert len(held) == 3
    assert queue_batch_lease(project=project, user=other, size=10) == []  # all held: the read is kept now
    queue_skip(project=project, user=analyst, response_id=held[0])
    assert [r.pk for r in queue_batch_lease(project=project, user=other, size=10)] == [held[0]]
    Response.objects.bulk_create(Response(project=project, respondent_id=f"late{i}", text=f"late {i}")
                                 for i in range(2))
    late = set(project.responses.filter(respondent_id__startswith="late").values_list("pk", flat=True))
    assert {r.pk for r in queue_batch_lease(project=project, user=other, size=10)} == {held[0], *late}


@pytest.mark.django_db
def test_analysts_working_past_a_taken_head_are_served_from_far_down_the_order(analyst, monkeypatch):
    """While many analysts code faster than retrains rebuild the order, its head is all taken: the walk reaches
    the free responses further down (windows that grow) without reading the whole project."""
    other = UserFactory(username="far-other")
    project = _project(400, analyst, other)
    theme = ThemeFactory(project=project)
    order = list(project.responses.order_by("-pk").values_list("pk", flat=True))
    LabelQueue.objects.create(project=project, response_ids=order, strategy="test")
    annotation_submit(project=project, user=other, items=[AnnotationItem(pk, [theme.pk]) for pk in order[:300]])
    read_whole = []
    monkeypatch.setattr(queue, "_project_free", lambda *args: read_whole.append(args) or set())
    assert [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)] == order[300:310]
    assert not read_whole


@pytest.mark.django_db
def test_a_response_whose_lease_ran_out_is_served_again_before_the_next_build(analyst, monkeypatch):
    """A process that saw a response held skips it in the order until the next build; the whole-project read
    must still find it once the lease has run out (else it waits for a retrain that may never come)."""
    other = UserFactory(username="expired-other")
    project = _project(3, analyst, other)
    LabelQueue.objects.create(project=project, response_ids=list(project.responses.values_list("pk", flat=True)),
                              strategy="test")
    monkeypatch.setattr(queue, "FREE_READ_SECONDS", 0.0)  # no kept read: this is about the order's taken set
    held = [r.pk for r in queue_batch_lease(project=project, user=analyst, size=10)]
    assert len(held) == 3 and queue_batch_lease(project=project, user=other, size=10) == []
    QueueLease.objects.filter(user=analyst).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert sorted(r.pk for r in queue_batch_lease(project=project, user=other, size=10)) == sorted(held)


@pytest.mark.django_db
def test_more_responses_than_one_statement_lists_are_read_and_leased_in_chunks(analyst):
    """The queue's statements list at most IN_LIST_CAP ids (SQLite bounds a statement's parameters): a longer
    window is read, checked and leased a chunk at a time, every response of it."""
    other = UserFactory(username="chunk-other")
    project = _project(2 * IN_LIST_CAP + 7, analyst, other)
    ids = list(project.responses.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    with CaptureQueriesContext(connection) as ran:
        assert queue._window_check(project, analyst, now, ids) == (set(ids), set())
    assert len(ran) == 3
    for _ in range(2):  # the second time over the analyst's own leases, which make way
        queue._leases_write(project, analyst, now, ids)
        assert sorted(QueueLease.objects.filter(user=analyst).values_list("response_id", flat=True)) == ids
    assert queue._servable(project, analyst, now, ids, set()) == ids
    assert queue._servable(project, other, now, ids, set()) == []
    assert queue._window_check(project, other, now, ids) == (set(), set(ids))


def test_walks_start_after_the_head_that_every_request_of_the_process_saw_taken():
    from labeling_app.labeling.services.queue import _Order

    order = _Order([11, 12, 13, 14, 15], {pk: i for i, pk in enumerate([11, 12, 13, 14, 15])}, gone={11, 12, 14})
    assert order.first_open() == 2 and order.start == 2  # 13 is the first not seen taken
    order.gone.add(13)
    assert order.first_open() == 4  # past 13 and 14, at 15
    order.start = 3  # left behind by a thread's late write: only costs a step, the answer is the same
    assert order.first_open() == 4 and order.start == 4
    order.gone.add(15)
    assert order.first_open() == 5 == len(order.ids)  # all seen taken: the walk finds nothing in the order


@pytest.mark.django_db
def test_skipping_another_projects_response_is_a_404_and_saves_nothing(prepare_project):
    # Issue 26: it answered 200 {"skipped": 1} and did nothing; an id from another project is not found here.
    from tests.factories import ProjectFactory, ResponseFactory

    foreign = ResponseFactory(project=ProjectFactory(name="Someone else's"))
    mine = prepare_project.project.responses.first()
    client = prepare_project.client("analyst")
    url = f"/api/projects/{prepare_project.project.pk}/annotations/"
    answer = client.post(url, [{"response": mine.pk, "themes": [prepare_project.themes[0].pk]},
                               {"response": foreign.pk, "themes": [], "skipped": True}], format="json")
    assert answer.status_code == 404 and set(answer.json()) == {"message", "details"}
    assert not Annotation.objects.filter(response=mine).exists() and not QueueLease.objects.filter(skipped=True).exists()
    alone = client.post(url, {"response": foreign.pk, "themes": [], "skipped": True}, format="json")
    assert alone.status_code == 404
    ok = client.post(url, {"response": mine.pk, "themes": [], "skipped": True}, format="json")
    assert ok.status_code == 201 and ok.json() == {"saved": 0, "skipped": 1}
