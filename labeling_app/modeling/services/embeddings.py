"""Embeddings of a project's responses: computed once per text, stored, read back as one matrix.

An embedding run is planned by one task and done by many. The planner (`embedding_run_execute`) lists the
responses whose text has no current embedding, splits them into chunks of EMBEDDING_CHUNK_SIZE (EmbeddingChunk
rows) and sends one `embeddings_chunk` task per chunk as a Celery group on the embeddings queue, so every worker
on that queue takes chunks: N workers embed about N times faster. A chunk is claimed atomically, embeds only the
responses of its id range whose stored text hash differs (run twice, it does nothing twice) and upserts. The
run's progress is the sum of its chunks'. There is no result backend, so no chord: the chunk that finishes the
last outstanding one wins a conditional update of the run, finishes it, and asks for what follows (a retrain or
the cold-start queue, and the discovery runs that waited for these embeddings).

Faults: the planning step and each chunk are jobs of services.job_runs (one claim, one heartbeat, one stale
rule, one failure record, as imports, discovery and retrains). A chunk whose pool process dies is redelivered by
the broker (late ack, reject on worker lost) and its own task takes it over; a chunk whose whole worker was
killed goes silent and the workers' sweep sends it again once its heartbeat is JOB_STALE_AFTER_SECONDS old; a
chunk that raises is sent again alone; one that has used JOB_MAX_ATTEMPTS fails, and its run fails once the
other chunks are done.

Retrain and discovery never embed: they call `embeddings_missing_request`, which queues the missing embeddings
as a run of their own (see services.training and services.discovery for what each does meanwhile).
"""
import functools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling_app.core.progress import progress_set
from labeling_app.jobs.registry import TASK_EMBEDDINGS_CHUNK, TASK_EMBEDDINGS_COMPUTE
from labeling_app.jobs.services.outbox import enqueue_group_on_commit, enqueue_on_commit
from labeling_app.jobs.services.runs import (
    job_attempts_exhausted,
    job_claim,
    job_claim_locked,
    job_failure_reason,
    job_heartbeat,
)
from labeling_app.labeling.models import Annotation, LabelQueue
from labeling_app.modeling.models import EmbeddingChunk, EmbeddingRun, ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_matrix_read, embedding_model_name
from labeling_app.modeling.signals import embedding_run_finished
from labeling_app.projects.models import Project
from labeling_app.projects.services.training_requests import training_inputs_changed, training_request
from ml import active_learning
from ml import embeddings as ml_embeddings

logger = logging.getLogger(__name__)
#: Texts embedded, stored and counted (a chunk's progress) at a time.
BATCH = 512
_FINISHED = (EmbeddingChunk.Status.SUCCEEDED, EmbeddingChunk.Status.FAILED)


@functools.lru_cache(maxsize=2)
def _loaded_model(name: str) -> Any:
    # One load per worker process: loading takes seconds, embedding a batch milliseconds. EMBEDDING_THREADS
    # holds a worker to that many threads, so several workers on one machine do not fight over its cores.
    return ml_embeddings.load_model(settings.EMBEDDING_MODEL or None, backend=settings.EMBEDDING_BACKEND or None,
                                    threads=settings.EMBEDDING_THREADS or None)


def embedding_model_loaded(name: str) -> Any:
    """The embedding model ``name`` (embedding_model_name()), loaded once per worker process."""
    return _loaded_model(name)


def embedding_run_request(*, project: Project) -> EmbeddingRun:
    """Queue an embedding run of the project's new or changed responses (imports call this).

    A run that is still waiting for a worker is reused: it lists what to embed only when it starts.
    """

    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one creator at a time
        waiting = project.embedding_runs.filter(status=EmbeddingRun.Status.PENDING).order_by("pk").first()
        if waiting is not None:
            return waiting
        run = EmbeddingRun.objects.create(project=project)
        enqueue_on_commit(TASK_EMBEDDINGS_COMPUTE, embedding_run_id=run.pk)
    return run


def _missing(project: Project) -> Any:
    """The project's responses with no embedding from the current model (a cheap check, no text hashing).

    Responses are never edited in place, so a response with an embedding of this model has a current one;
    embedding runs compare text hashes all the same (see _stale_responses).
    """
    current = ResponseEmbedding.objects.filter(response=OuterRef("pk"), model_name=embedding_model_name())
    return project.responses.filter(~Exists(current))


def embeddings_missing_request(*, project: Project) -> EmbeddingRun | None:
    """If some responses have no embedding yet, make sure a run will embed them; returns that run, else None.

    A waiting run is reused, and so is a running one whose chunks reach past the newest missing response;
    otherwise a new run is queued. Retrain and discovery call this instead of embedding inline.
    """
    newest = _missing(project).aggregate(m=Max("pk"))["m"]
    if newest is None:
        return None
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one creator at a time
        active = project.embedding_runs.filter(status__in=[EmbeddingRun.Status.PENDING, EmbeddingRun.Status.RUNNING])
        covering = active.filter(
            Q(status=EmbeddingRun.Status.PENDING) | Q(chunks__last_response_id__gte=newest)).order_by("pk").first()
        if covering is not None:
            return covering
        return embedding_run_request(project=project)


def _stale_responses(project: Project, model_name: str, id_range: tuple[int, int] | None = None,
                     ) -> list[tuple[int, str]]:
    """(id, text) of the responses (within id_range, inclusive) whose current text has no embedding, by id."""
    responses = project.responses.all()
    stored = ResponseEmbedding.objects.filter(response__project=project, model_name=model_name)
    if id_range is not None:
        responses = responses.filter(pk__range=id_range)
        stored = stored.filter(response_id__gte=id_range[0], response_id__lte=id_range[1])
    existing = dict(stored.values_list("response_id", "text_hash").iterator(chunk_size=5000))
    return [
        (pk, text)
        for pk, text in responses.values_list("pk", "text").order_by("pk").iterator(chunk_size=5000)
        if existing.get(pk) != ml_embeddings.text_hash(text)
    ]


def _batch_floor(model: Any) -> int:
    """The fewest texts per batch: with ONNX, 8, so the token budget (ml.embeddings.TOKENS_PER_BATCH) sizes a
    batch of long texts (8 of 256 tokens, not 64): ONNX Runtime's arena keeps the largest batch's activations
    (bench/README.md, scale: worker memory). With PyTorch, 64: its batches hold 32 to 128 texts by a token
    budget of their own (ml.embeddings.TORCH_TOKENS_PER_BATCH)."""
    return 8 if isinstance(model, ml_embeddings.OnnxEmbedder) else 64


def _embed_and_store(todo: list[tuple[int, str]], name: str, on_batch: Callable[[int], None] | None = None) -> None:
    model = _loaded_model(name)
    # Longest first, so each BATCH holds texts of like length: the model pads every text of a batch to its
    # longest, and BATCHes in id order each mixed a few long texts with many short ones (about 1.6x the compute
    # per text, bench/README.md, scale). A retried chunk still skips what was stored: it compares text hashes.
    todo = sorted(todo, key=lambda item: len(item[1]), reverse=True)
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        vectors = ml_embeddings.embed_texts(model, [t for _, t in chunk], batch_size=_batch_floor(model))
        # An upsert, not delete-then-insert: two processes embedding the same responses at once (a chunk and
        # its redelivery, two runs) both inserted after both deleted, and one failed on the primary key.
        ResponseEmbedding.objects.bulk_create(
            [ResponseEmbedding(response_id=pk, model_name=name, text_hash=ml_embeddings.text_hash(text),
                               vector=vec.astype(np.float32).tobytes())
             for (pk, text), vec in zip(chunk, vectors, strict=True)],
            update_conflicts=True, unique_fields=["response"],
            update_fields=["model_name", "text_hash", "vector", "created_at"],
        )
        if on_batch is not None:
            on_batch(len(chunk))


def embeddings_ensure(*, project: Project) -> int:
    """Embed, in this process, the project's responses with no embedding for their current text; returns how many.

    For scripts and benchmarks that need a project embedded before they go on; the app's jobs never call it
    (they queue an embedding run: `embedding_run_request`, `embeddings_missing_request`).
    """
    name = embedding_model_name()
    todo = _stale_responses(project, name)
    if todo:
        _embed_and_store(todo, name)
    return len(todo)


def embedding_run_execute(*, embedding_run_id: int, task_id: str = "") -> EmbeddingRun | None:
    """Plan one embedding run: split what needs embedding into chunks and send them to the workers as a group.

    A run with nothing to embed finishes at once and asks for what follows, as the last chunk does otherwise.
    A planned run is not planned again: its chunks carry it.
    """
    if EmbeddingChunk.objects.filter(run_id=embedding_run_id).exists():
        return None
    run = job_claim(EmbeddingRun, pk=embedding_run_id, task_id=task_id, select_related=("project",),
                    on_exhausted=_run_exhausted)
    if run is None:
        return None
    try:
        with job_heartbeat(run, task_id=task_id):
            chunks = _run_plan(run)
    except Exception as exc:
        logger.exception("planning embedding run %s failed", run.pk)
        _run_finish(run.pk, EmbeddingRun.Status.FAILED, job_failure_reason(exc, str(exc)))
        run.refresh_from_db()
        return run
    if not chunks:
        _run_finish(run.pk, EmbeddingRun.Status.SUCCEEDED)
    run.refresh_from_db()
    return run


def _run_exhausted(run: EmbeddingRun, reason: str) -> None:
    _run_finish(run.pk, EmbeddingRun.Status.FAILED, reason)  # the discovery runs waiting for it fail with it


def _run_plan(run: EmbeddingRun) -> int:
    """Write the run's chunks and send them (after commit, as one group); returns how many chunks it has."""

    with transaction.atomic():
        if (existing := run.chunks.count()):
            return existing  # a redelivered planner: its chunks were written and sent (the outbox) before
        todo = [pk for pk, _ in _stale_responses(run.project, embedding_model_name())]
        size = max(1, settings.EMBEDDING_CHUNK_SIZE)
        chunks = EmbeddingChunk.objects.bulk_create(
            EmbeddingChunk(run=run, index=i, first_response_id=ids[0], last_response_id=ids[-1], total=len(ids))
            for i, ids in enumerate(todo[s:s + size] for s in range(0, len(todo), size))
        )
        EmbeddingRun.objects.filter(pk=run.pk).update(total=len(todo), embedded=0, updated_at=timezone.now())
        enqueue_group_on_commit(TASK_EMBEDDINGS_CHUNK, [{"chunk_id": c.pk} for c in chunks])
    progress_set(kind="embeddings", job_id=run.pk, percent=0)
    return len(chunks)


def _chunk_claim(chunk_id: int, task_id: str, worker: str) -> EmbeddingChunk | None:
    """Take a chunk of a running run as services.job_runs claims any job; None when this delivery must not run
    it. A chunk past its attempts is failed (and may end its run) instead."""
    with transaction.atomic():
        chunk = (EmbeddingChunk.objects.select_for_update(of=("self",)).select_related("run", "run__project")
                 .filter(pk=chunk_id, run__status=EmbeddingRun.Status.RUNNING).first())
        if chunk is None:
            return None
        was = chunk.status
        claimed = job_claim_locked(chunk, task_id=task_id)  # past its attempts, job_fail fails it instead
        if claimed:
            chunk.worker = worker[:255]
            chunk.save(update_fields=["worker"])
    if claimed:
        return chunk
    if was != chunk.status == EmbeddingChunk.Status.FAILED:
        _run_end_if_done(chunk.run_id)  # its failure is committed: it may have been the run's last chunk
    return None


def _run_progress(run_id: int) -> None:
    """The run's count of embedded texts: the sum of its chunks'."""
    summed = (EmbeddingChunk.objects.filter(run=OuterRef("pk")).values("run")
              .annotate(s=Sum("embedded")).values("s"))
    EmbeddingRun.objects.filter(pk=run_id).update(embedded=Coalesce(Subquery(summed), 0))
    run = EmbeddingRun.objects.filter(pk=run_id).values("total", "embedded").first()
    if run and run["total"]:
        progress_set(kind="embeddings", job_id=run_id, percent=100 * run["embedded"] // run["total"])


def embedding_chunk_execute(*, chunk_id: int, task_id: str = "", worker: str = "") -> EmbeddingChunk | None:
    """Embed one chunk of a run (see the module docstring); returns it, or None when it was not this task's."""
    name = embedding_model_name()
    # Loaded before the claim (once per process): the heartbeat then measures embedding, not a model load.
    _loaded_model(name)
    chunk = _chunk_claim(chunk_id, task_id, worker)
    if chunk is None:
        return None
    try:
        with job_heartbeat(chunk, task_id=task_id):
            todo = _stale_responses(chunk.run.project, name, (chunk.first_response_id, chunk.last_response_id))
            # A retried chunk starts where its last attempt stopped: what that one stored is not embedded again.
            chunk.embedded = max(0, chunk.total - len(todo))
            EmbeddingChunk.objects.filter(pk=chunk.pk).update(embedded=chunk.embedded)

            def on_batch(n: int) -> None:
                chunk.embedded += n
                EmbeddingChunk.objects.filter(pk=chunk.pk).update(embedded=chunk.embedded)
                _run_progress(chunk.run_id)

            _embed_and_store(todo, name, on_batch)
    except Exception as exc:
        logger.exception("chunk %s of embedding run %s failed", chunk.index, chunk.run_id)
        message = job_failure_reason(exc, f"{type(exc).__name__}: {exc}")
        if job_attempts_exhausted(chunk.attempts + 1):
            _chunk_finish(chunk, EmbeddingChunk.Status.FAILED, message)
        else:
            _chunk_retry(chunk, message)
        chunk.refresh_from_db()
        return chunk
    _chunk_finish(chunk, EmbeddingChunk.Status.SUCCEEDED)
    chunk.refresh_from_db()
    return chunk


def _chunk_retry(chunk: EmbeddingChunk, message: str) -> None:
    """Send a chunk that raised again, alone; the other chunks of its run go on."""

    with transaction.atomic():
        if EmbeddingChunk.objects.filter(pk=chunk.pk, status=EmbeddingChunk.Status.RUNNING,
                                         task_id=chunk.task_id).update(status=EmbeddingChunk.Status.PENDING,
                                                                       task_id="", message=message):
            enqueue_on_commit(TASK_EMBEDDINGS_CHUNK, chunk_id=chunk.pk)


def _chunk_finish(chunk: EmbeddingChunk, status: str, message: str = "") -> None:
    """Record a chunk's end; the chunk that ends the last outstanding one finishes its run."""
    ended = EmbeddingChunk.objects.filter(pk=chunk.pk, status=EmbeddingChunk.Status.RUNNING,
                                          task_id=chunk.task_id).update(status=status, message=message,
                                                                        finished_at=timezone.now())
    if not ended:
        return  # taken over meanwhile (this one had gone silent): the one that took it finishes it
    _run_end_if_done(chunk.run_id)


def _run_end_if_done(run_id: int) -> None:
    """Finish the run once none of its chunks is outstanding (called after a chunk's end is committed)."""
    _run_progress(run_id)
    # Each chunk's end is committed before this check, so whichever chunk ends last sees none outstanding;
    # two that end together may both see none, and the conditional update in _run_finish lets only one win.
    chunks = EmbeddingChunk.objects.filter(run_id=run_id)
    if chunks.exclude(status__in=_FINISHED).exists():
        return
    failed = chunks.filter(status=EmbeddingChunk.Status.FAILED)
    if (first := failed.order_by("index").first()) is not None:
        _run_finish(run_id, EmbeddingRun.Status.FAILED,
                    f"{failed.count()} of {chunks.count()} parts failed; the first: {first.message}")
    else:
        _run_finish(run_id, EmbeddingRun.Status.SUCCEEDED)


def _run_finish(run_id: int, status: str, message: str = "") -> bool:
    """Finish a run (once: a conditional update) and ask for what follows; False if already finished.

    Not `job_succeed`: the chunk that ends last finishes the run, not the delivery that planned it.
    """
    unfinished = [EmbeddingRun.Status.PENDING, EmbeddingRun.Status.RUNNING]
    won = EmbeddingRun.objects.filter(pk=run_id, status__in=unfinished).update(
        status=status, message=message, finished_at=timezone.now(), updated_at=timezone.now())
    if not won:
        return False
    progress_set(kind="embeddings", job_id=run_id, percent=100)
    run = EmbeddingRun.objects.select_related("project").get(pk=run_id)
    with transaction.atomic():
        _after_run(run)
    return True


def _after_run(run: EmbeddingRun) -> None:
    """What a finished run triggers: a retrain (or the cold-start queue), and `embedding_run_finished` for what
    waits on the vectors elsewhere (discovery runs)."""
    project = run.project
    embedding_run_finished.send(sender=EmbeddingRun, run=run)
    if run.status != EmbeddingRun.Status.SUCCEEDED:
        return
    if Annotation.objects.filter(response__project=project, is_current=True).exists():
        if run.total:
            # New vectors are new inputs: a model trained before they existed (on what was embedded then)
            # is out of date, so the retrain this asks for is not skipped as "nothing changed".
            training_inputs_changed(project=project)
        else:
            training_request(project=project)
    elif project.current_model_id is None:
        cold_start_queue_build(project=project)
        training_request(project=project)  # nothing to learn from: it builds the suggestions from theme names


def embedding_chunks_pending_send() -> int:
    """Send the pending chunks of running runs again (a worker starting: their messages may be gone); returns
    how many. Chunks that lost their worker are sent by the job sweep (services.job_runs). A chunk sent twice is
    harmless: the claim lets one delivery run it."""

    pending = EmbeddingChunk.objects.filter(run__status=EmbeddingRun.Status.RUNNING,
                                            status=EmbeddingChunk.Status.PENDING)
    send = list(pending.values_list("pk", flat=True))
    with transaction.atomic():
        enqueue_group_on_commit(TASK_EMBEDDINGS_CHUNK, [{"chunk_id": pk} for pk in send])
    if send:
        logger.info("pending embedding chunks sent again: %s", send)
    return len(send)


def cold_start_queue_build(*, project: Project) -> LabelQueue | None:
    """Before any model exists: a diverse first queue (k-means medoids, then the random exploration order)."""
    response_ids, X = embedding_matrix_read(project=project)
    if not response_ids:
        return None
    # Seed 0, as a retrain plans its queue (training.SEED).
    order = active_learning.plan_queue(X, None, np.zeros(len(response_ids), dtype=bool), seed=0,
                                       keys=np.asarray(response_ids, dtype=np.int64))
    queue, _ = LabelQueue.objects.update_or_create(
        project=project, defaults={"response_ids": [response_ids[i] for i in order],
                                   "model_version": None, "strategy": "cold_start"},
    )
    return queue
