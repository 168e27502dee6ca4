"""Embeddings of a project's responses: each text embedded once, again only when it changes, read as a matrix."""
import threading
from datetime import timedelta

import numpy as np
import pytest
from django.db import connections
from django.utils import timezone

from labeling_app.discovery.models import DiscoveryRun
from labeling_app.discovery.services import discovery_run_execute
from labeling_app.jobs.models import OutboxJob
from labeling_app.jobs.services.runs import jobs_stale_find
from labeling_app.labeling.models import LabelQueue
from labeling_app.modeling.models import EmbeddingChunk, EmbeddingRun, ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_matrix_read
from labeling_app.modeling.services import embeddings
from labeling_app.modeling.services.embeddings import (
    embedding_chunk_execute,
    embedding_chunks_pending_send,
    embedding_run_execute,
    embedding_run_request,
    embeddings_ensure,
)
from labeling_app.modeling.tasks.embeddings import embeddings_chunk, embeddings_compute
from labeling_app.projects.models import Response
from tests.factories import ProjectFactory


@pytest.mark.django_db
def test_only_new_or_changed_texts_are_embedded_and_read_back_in_id_order():
    project = ProjectFactory()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"E{i}", text=f"reason {i}: the price")
                                 for i in range(5))
    assert embeddings_ensure(project=project) == 5
    assert embeddings_ensure(project=project) == 0  # nothing changed: nothing embedded
    ids, X = embedding_matrix_read(project=project)
    assert ids == sorted(project.responses.values_list("pk", flat=True))
    assert X.shape == (5, 384) and np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-3)
    changed = project.responses.order_by("pk").first()
    before = bytes(ResponseEmbedding.objects.get(response=changed).vector)
    Response.objects.filter(pk=changed.pk).update(text="delivery was late every week")
    assert embeddings_ensure(project=project) == 1
    assert bytes(ResponseEmbedding.objects.get(response=changed).vector) != before


@pytest.mark.django_db(transaction=True)
def test_two_processes_embedding_the_same_responses_at_once_both_succeed(monkeypatch):
    """An embedding run and a retrain's catch-up may embed the same new responses at the same moment.

    Both compute their vectors before either writes (a barrier), then both write: on PostgreSQL the old
    delete-then-insert failed the second writer on the primary key.
    """
    project = ProjectFactory()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"C{i}", text=f"too expensive {i}")
                                 for i in range(6))
    real = embeddings.ml_embeddings.embed_texts
    both_embedded = threading.Barrier(2, timeout=60)

    def embed_then_wait(model, texts, **kwargs):
        vectors = real(model, texts, **kwargs)
        both_embedded.wait()
        return vectors

    monkeypatch.setattr(embeddings.ml_embeddings, "embed_texts", embed_then_wait)
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            embeddings_ensure(project=project)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            both_embedded.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert ResponseEmbedding.objects.filter(response__project=project).count() == 6
    monkeypatch.setattr(embeddings.ml_embeddings, "embed_texts", real)
    assert embeddings_ensure(project=project) == 0  # every response embedded once, for its current text


# --- Embedding runs in chunks (issue 13): planned once, each chunk a row and a task, the last one finishes it.

def _project_with(n: int, prefix: str = "P"):
    project = ProjectFactory()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"{prefix}{i}",
                                          text=f"answer {i}: the staff were {'kind' if i % 2 else 'rushed'}")
                                 for i in range(n))
    return project


def _queued(task_name: str) -> list[dict]:
    """Kwargs of the jobs of this task waiting in the outbox (callbacks do not run in these tests)."""
    return [row.kwargs for row in OutboxJob.objects.filter(task=task_name).order_by("pk")]


@pytest.mark.django_db
def test_a_run_is_planned_into_chunks_sent_as_a_group_and_the_last_chunk_finishes_it(settings):
    settings.EMBEDDING_CHUNK_SIZE = 3
    project = _project_with(8)
    run = embedding_run_request(project=project)
    assert embedding_run_request(project=project) == run  # a run waiting for a worker is reused
    planned = embedding_run_execute(embedding_run_id=run.pk, task_id="plan")
    assert planned.status == EmbeddingRun.Status.RUNNING and planned.total == 8
    chunks = list(run.chunks.order_by("index"))
    assert [c.total for c in chunks] == [3, 3, 2]
    ids = sorted(project.responses.values_list("pk", flat=True))
    assert [(c.first_response_id, c.last_response_id) for c in chunks] == [(ids[0], ids[2]), (ids[3], ids[5]),
                                                                           (ids[6], ids[7])]
    assert _queued(embeddings_chunk.name) == [{"chunk_id": c.pk} for c in chunks]
    assert embedding_run_execute(embedding_run_id=run.pk, task_id="plan") is None  # redelivered planner: skipped
    assert run.chunks.count() == 3  # ... its chunks carry the run: nothing planned twice

    first, second, last = chunks
    assert embedding_chunk_execute(chunk_id=second.pk, task_id="b", worker="w2").status == "succeeded"
    assert embedding_chunk_execute(chunk_id=first.pk, task_id="a", worker="w1").status == "succeeded"
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.RUNNING and run.embedded == 6  # progress: the sum of the chunks
    assert run.percent == 75
    assert embedding_chunk_execute(chunk_id=first.pk, task_id="a-again") is None  # a finished chunk is skipped
    assert embedding_chunk_execute(chunk_id=last.pk, task_id="c", worker="w1").status == "succeeded"
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.SUCCEEDED and run.embedded == 8 and run.finished_at
    assert sorted(ResponseEmbedding.objects.filter(response__project=project).values_list("response_id", flat=True)) == ids
    assert set(run.chunks.values_list("attempts", flat=True)) == {1}
    # The project had no labels and no model: the end of the run built its first (cold-start) queue.
    assert LabelQueue.objects.get(project=project).strategy == "cold_start"
    # Nothing left to embed: the next run finishes as soon as it is planned, with no chunks.
    again = embedding_run_request(project=project)
    assert embedding_run_execute(embedding_run_id=again.pk, task_id="p2").status == EmbeddingRun.Status.SUCCEEDED
    assert not again.chunks.exists()


@pytest.mark.django_db
def test_a_chunk_that_fails_is_retried_alone_and_one_that_keeps_failing_fails_its_run(settings, monkeypatch):
    settings.EMBEDDING_CHUNK_SIZE = 4
    settings.JOB_MAX_ATTEMPTS = 2
    project = _project_with(8)
    waiting = DiscoveryRun.objects.create(project=project)
    assert discovery_run_execute(discovery_run_id=waiting.pk, task_id="d") is None  # waits for the embeddings
    run = EmbeddingRun.objects.get(project=project)
    embedding_run_execute(embedding_run_id=run.pk, task_id="plan")
    good, bad = run.chunks.order_by("index")
    bad_texts = set(project.responses.filter(pk__gte=bad.first_response_id).values_list("text", flat=True))
    real = embeddings.ml_embeddings.embed_texts

    def broken_for_bad(model, texts, **kwargs):
        if set(texts) & bad_texts:
            raise MemoryError("the embedder ran out of memory")  # a fault in this chunk only
        return real(model, texts, **kwargs)

    monkeypatch.setattr(embeddings.ml_embeddings, "embed_texts", broken_for_bad)
    OutboxJob.objects.all().delete()
    retried = embedding_chunk_execute(chunk_id=bad.pk, task_id="t1")
    assert retried.status == EmbeddingChunk.Status.PENDING and "out of memory" in retried.message
    assert _queued(embeddings_chunk.name) == [{"chunk_id": bad.pk}]  # sent again, alone
    assert embedding_chunk_execute(chunk_id=good.pk, task_id="t2").status == "succeeded"  # the others go on
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.RUNNING
    failed = embedding_chunk_execute(chunk_id=bad.pk, task_id="t3")  # its 2nd attempt, the last allowed
    assert failed.status == EmbeddingChunk.Status.FAILED and failed.attempts == 2
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.FAILED and run.message.startswith("1 of 2 parts failed")
    assert "out of memory" in run.message
    # What the good chunk stored stays; the discovery run that waited is failed, saying why.
    assert ResponseEmbedding.objects.filter(response__project=project).count() == 4
    waiting.refresh_from_db()
    assert waiting.status == DiscoveryRun.Status.FAILED and "could not be embedded" in waiting.message

    monkeypatch.setattr(embeddings.ml_embeddings, "embed_texts", real)  # the fault is gone: a new run recovers
    recovery = embedding_run_request(project=project)
    embedding_run_execute(embedding_run_id=recovery.pk, task_id="plan2")
    assert [c.total for c in recovery.chunks.all()] == [4]  # only what is missing
    embedding_chunk_execute(chunk_id=recovery.chunks.get().pk, task_id="t4")
    recovery.refresh_from_db()
    assert recovery.status == EmbeddingRun.Status.SUCCEEDED
    assert ResponseEmbedding.objects.filter(response__project=project).count() == 8


def _two_chunk_run(settings):  # type: ignore[no-untyped-def]
    """A run of 10 new responses in chunks of 5, with a one-minute stale rule; not yet planned."""
    settings.EMBEDDING_CHUNK_SIZE = 5
    settings.JOB_STALE_AFTER_SECONDS = 60
    project = _project_with(10)
    return project, embedding_run_request(project=project)


@pytest.mark.django_db
def test_a_chunk_gone_silent_is_sent_again_by_the_job_sweep_and_its_new_delivery_resumes(settings):
    project, run = _two_chunk_run(settings)
    embedding_run_execute(embedding_run_id=run.pk, task_id="plan")
    lost, live = run.chunks.order_by("index")
    long_ago = timezone.now() - timedelta(seconds=120)
    # As a killed worker leaves them: one chunk silent for two minutes, one still beating.
    EmbeddingChunk.objects.filter(pk=lost.pk).update(status="running", task_id="dead", attempts=1,
                                                     heartbeat_at=long_ago)
    EmbeddingChunk.objects.filter(pk=live.pk).update(status="running", task_id="alive", attempts=1,
                                                     heartbeat_at=timezone.now())
    # The planned run beats no more, however long its chunks wait: it is not a lost job.
    EmbeddingRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)
    assert embedding_chunk_execute(chunk_id=live.pk, task_id="duplicate") is None  # a live chunk is not taken
    found = list(jobs_stale_find())
    assert [(task, ids) for task, ids, _ in found] == [(embeddings_chunk.name, {"chunk_id": lost.pk})]
    assert list(jobs_stale_find()) == []  # sent once, however many sweeps run
    new_id = found[0][2]
    assert embedding_chunk_execute(chunk_id=lost.pk, task_id="dead") is None  # the old delivery was replaced
    resumed = embedding_chunk_execute(chunk_id=lost.pk, task_id=new_id)
    assert resumed.status == "succeeded" and resumed.attempts == 2
    assert embedding_chunk_execute(chunk_id=live.pk, task_id="alive").status == "succeeded"  # its redelivery
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.SUCCEEDED and run.embedded == 10
    assert ResponseEmbedding.objects.filter(response__project=project).count() == 10


@pytest.mark.django_db
def test_a_plan_gone_silent_is_sent_again_and_a_planned_run_is_not_planned_twice(settings):
    _, run = _two_chunk_run(settings)
    # Its worker was killed while planning: running, no chunks, silent.
    EmbeddingRun.objects.filter(pk=run.pk).update(status="running", task_id="dead", attempts=1,
                                                  heartbeat_at=timezone.now() - timedelta(seconds=120))
    (found,) = jobs_stale_find()
    assert found[:2] == (embeddings_compute.name, {"embedding_run_id": run.pk})
    planned = embedding_run_execute(embedding_run_id=run.pk, task_id=found[2])
    assert planned.status == EmbeddingRun.Status.RUNNING and planned.attempts == 2 and planned.chunks.count() == 2
    assert embedding_run_execute(embedding_run_id=run.pk, task_id=found[2]) is None  # redelivered: not replanned
    assert planned.chunks.count() == 2


@pytest.mark.django_db
def test_pending_chunks_of_running_runs_are_sent_when_a_worker_starts(settings):
    _, run = _two_chunk_run(settings)
    embedding_run_execute(embedding_run_id=run.pk, task_id="plan")
    first, second = run.chunks.order_by("index")
    EmbeddingChunk.objects.filter(pk=first.pk).update(status="succeeded")
    OutboxJob.objects.all().delete()
    assert embedding_chunks_pending_send() == 1
    assert _queued(embeddings_chunk.name) == [{"chunk_id": second.pk}]
