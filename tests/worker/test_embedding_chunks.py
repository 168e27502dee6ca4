"""Embedding runs split into chunks on real Celery workers, Redis and the test database (issue 13): two workers
share a run's chunks, and a worker killed whole in the middle of a run loses nothing."""
import os
import signal
import time

import pytest
from django.db import transaction

from labeling_app.labeling.models import LabelQueue
from labeling_app.modeling.models import EmbeddingChunk, EmbeddingRun, ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_model_name
from labeling_app.modeling.services.embeddings import embedding_run_request
from labeling_app.projects.models import Response
from ml.embeddings import text_hash
from tests.conftest import worker_start, worker_stop
from tests.factories import ProjectFactory

pytestmark = pytest.mark.worker
QUEUES = "default,imports,embeddings,training"
# Each worker held to one thread, as on a machine shared by several workers.
ONE_THREAD = {"EMBEDDING_THREADS": "1", "OMP_NUM_THREADS": "1", "EMBEDDING_CHUNK_SIZE": "150"}


@pytest.fixture
def big_project(transactional_db, settings):
    settings.EMBEDDING_CHUNK_SIZE = 150
    project = ProjectFactory(name="Big survey")
    moods = ["kind", "rushed", "late", "helpful", "rude", "calm", "lost", "clear"]
    Response.objects.bulk_create(
        Response(project=project, respondent_id=f"B{i}",
                 text=f"Visit {i}: the nurse was {moods[i % 8]} and the wait was {i % 97} minutes, parking {i % 13}")
        for i in range(1200))
    return project


def _start_run(project) -> EmbeddingRun:
    with transaction.atomic():  # sent when it commits, as an import asks for it
        return embedding_run_request(project=project)


def _wait(what: str, find, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not (found := find()):
        assert time.monotonic() < deadline, (f"timed out waiting for {what}", list(EmbeddingChunk.objects.values(
            "index", "status", "attempts", "worker", "message", "embedded", "heartbeat_at")))
        time.sleep(0.05)
    return found


def _fully_embedded(project) -> None:
    """One embedding per response, each for the response's current text, from the configured model."""
    stored = dict(ResponseEmbedding.objects.filter(response__project=project).values_list("response_id", "text_hash"))
    texts = dict(project.responses.values_list("pk", "text"))
    assert len(stored) == len(texts) == project.responses.count()
    assert all(stored[pk] == text_hash(text) for pk, text in texts.items())
    assert set(ResponseEmbedding.objects.filter(response__project=project).values_list("model_name", flat=True)) == {
        embedding_model_name()}


def _finished(run: EmbeddingRun):
    run.refresh_from_db()
    return run if run.is_finished else None


def test_two_workers_embed_the_chunks_of_one_run_side_by_side_each_chunk_once(big_project, settings):
    procs = [worker_start(settings, queues=QUEUES, name=f"emb{n}-{os.getpid()}", env=ONE_THREAD) for n in (1, 2)]
    try:
        run = _start_run(big_project)
        run = _wait("the run to finish", lambda: _finished(run))
    finally:
        for proc in procs:
            worker_stop(proc)
    assert run.status == EmbeddingRun.Status.SUCCEEDED, run.message
    chunks = list(run.chunks.all())
    assert len(chunks) == 8 and run.total == run.embedded == 1200
    assert all(c.status == EmbeddingChunk.Status.SUCCEEDED and c.attempts == 1 for c in chunks)  # each ran once
    by_worker = {c.worker.split("@")[0] for c in chunks}
    assert by_worker == {f"emb1-{os.getpid()}", f"emb2-{os.getpid()}"}, by_worker  # both took chunks
    # ... at the same time: some chunk of one worker overlaps some chunk of the other.
    spans = {w: [(c.started_at, c.finished_at) for c in chunks if c.worker.startswith(w)] for w in by_worker}
    one, other = spans.values()
    assert any(a0 < b1 and b0 < a1 for a0, a1 in one for b0, b1 in other)
    _fully_embedded(big_project)
    assert EmbeddingRun.objects.filter(project=big_project).count() == 1


def test_a_worker_killed_whole_in_the_middle_of_a_run_loses_nothing(big_project, settings):
    # The second worker's sweep sends a chunk silent for 20 s again (the default, 2 minutes, is for real runs;
    # a running chunk beats every 5 s here, from its own thread, however long a batch takes).
    recovery = {**ONE_THREAD, "JOB_STALE_AFTER_SECONDS": "20", "JOB_HEARTBEAT_SECONDS": "5",
                "JOBS_SWEEP_SECONDS": "1"}
    doomed = worker_start(settings, queues=QUEUES, name=f"doomed-{os.getpid()}", env=recovery, new_session=True)
    try:
        run = _start_run(big_project)
        chunks = EmbeddingChunk.objects.filter(run__project=big_project)
        _wait("a chunk done and the next one running", lambda: chunks.filter(status="succeeded").exists()
              and chunks.filter(status="running", attempts=1).exists())
        os.killpg(doomed.pid, signal.SIGKILL)  # main process and pool child at once, as when a machine dies
        doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            os.killpg(doomed.pid, signal.SIGKILL)
    lost = chunks.get(status="running")  # killed part-way through this chunk
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.RUNNING
    assert ResponseEmbedding.objects.filter(response__project=big_project).count() < 1200

    rescuer = worker_start(settings, queues=QUEUES, name=f"rescuer-{os.getpid()}", env=recovery)
    try:
        run = _wait("the run to finish", lambda: _finished(run))
        time.sleep(2)  # a duplicate delivery, if any, has time to run (and must change nothing)
    finally:
        worker_stop(rescuer)
    assert run.status == EmbeddingRun.Status.SUCCEEDED, run.message
    assert run.finished_at is not None and run.attempts == 1 and run.embedded == run.total == 1200
    _fully_embedded(big_project)
    lost.refresh_from_db()
    assert lost.status == EmbeddingChunk.Status.SUCCEEDED and lost.attempts == 2, list(chunks.values(
        "index", "attempts", "worker", "message", "started_at", "finished_at", "heartbeat_at"))
    assert lost.worker.startswith("rescuer-")
    others = chunks.exclude(pk=lost.pk)
    assert set(others.values_list("status", flat=True)) == {"succeeded"}
    assert set(others.values_list("attempts", flat=True)) == {1}  # the rest ran once each
    # The run succeeded once: one run, and what its end asks for (the first queue of an unlabelled project) once.
    assert EmbeddingRun.objects.filter(project=big_project).count() == 1
    assert LabelQueue.objects.filter(project=big_project, strategy="cold_start").count() == 1
