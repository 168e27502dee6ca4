"""Embeddings of a project's responses: computed once per text, stored, read back as one matrix."""
import functools
import logging
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from labeling_app.models import Annotation, EmbeddingRun, Project, ResponseEmbedding
from labeling_app.services.embedding_store import EmbeddingStore, embedding_store_load
from labeling_app.services.jobs import enqueue_on_commit, job_attempts_exhausted
from labeling_app.services.progress import progress_set
from ml import embeddings as ml_embeddings

logger = logging.getLogger(__name__)
BATCH = 512
STALE_AFTER = timedelta(minutes=55)  # longer than the embedding task's time limit


def embedding_model_name() -> str:
    """The configured model (EMBEDDING_MODEL), or the bundled all-MiniLM-L6-v2."""
    return settings.EMBEDDING_MODEL or "all-MiniLM-L6-v2"


@functools.lru_cache(maxsize=2)
def _loaded_model(name: str) -> Any:
    # One load per worker process: loading takes seconds, embedding a batch milliseconds.
    return ml_embeddings.load_model(settings.EMBEDDING_MODEL or None)


def embedding_run_request(*, project: Project) -> EmbeddingRun:
    """Record a run and queue it after commit (imports call this)."""
    from labeling_app.tasks.embeddings import embeddings_compute

    run = EmbeddingRun.objects.create(project=project)
    enqueue_on_commit(embeddings_compute, embedding_run_id=run.pk)
    return run


def _stale_responses(project: Project, model_name: str) -> list[tuple[int, str]]:
    existing = dict(
        ResponseEmbedding.objects.filter(response__project=project, model_name=model_name)
        .values_list("response_id", "text_hash")
    )
    return [
        (pk, text)
        for pk, text in project.responses.values_list("pk", "text").order_by("pk")
        if existing.get(pk) != ml_embeddings.text_hash(text)
    ]


def embeddings_ensure(*, project: Project, run: EmbeddingRun | None = None) -> int:
    """Embed the project's responses that have no embedding for their current text; returns how many."""
    name = embedding_model_name()
    todo = _stale_responses(project, name)
    if run is not None:
        run.total = len(todo)
        run.save(update_fields=["total"])
    if not todo:
        return 0
    model = _loaded_model(name)
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        vectors = ml_embeddings.embed_texts(model, [t for _, t in chunk])
        # An upsert, not delete-then-insert: two processes embedding the same responses at once (an embedding
        # run and a retrain's catch-up) both inserted after both deleted, and one failed on the primary key.
        ResponseEmbedding.objects.bulk_create(
            [ResponseEmbedding(response_id=pk, model_name=name, text_hash=ml_embeddings.text_hash(text),
                               vector=vec.astype(np.float32).tobytes())
             for (pk, text), vec in zip(chunk, vectors, strict=True)],
            update_conflicts=True, unique_fields=["response"],
            update_fields=["model_name", "text_hash", "vector", "created_at"],
        )
        done = start + len(chunk)
        if run is not None:
            run.embedded = done
            run.save(update_fields=["embedded", "updated_at"])
            progress_set(kind="embeddings", job_id=run.pk, percent=100 * done // len(todo))
    return len(todo)


def embedding_run_execute(*, embedding_run_id: int, task_id: str = "") -> EmbeddingRun | None:
    """Run one embedding pass; afterwards the project gets its first queue or a retrain."""
    # One delivery at a time runs a run: a pending one is claimed atomically; a running one again only by
    # the same task redelivered or once stale. Embedding is idempotent: only stale texts are embedded.
    stale = timezone.now() - STALE_AFTER
    running = Q(status=EmbeddingRun.Status.RUNNING) & (Q(updated_at__lt=stale) | Q(task_id=task_id))
    claimed = EmbeddingRun.objects.filter(
        Q(status=EmbeddingRun.Status.PENDING) | running, pk=embedding_run_id,
    ).update(status=EmbeddingRun.Status.RUNNING, updated_at=timezone.now(), task_id=task_id,
             attempts=F("attempts") + 1)
    run = EmbeddingRun.objects.select_related("project").filter(pk=embedding_run_id).first()
    if not claimed or run is None:
        return None
    if reason := job_attempts_exhausted(run.attempts):
        run.status, run.message, run.finished_at = EmbeddingRun.Status.FAILED, reason, timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        return None
    try:
        embeddings_ensure(project=run.project, run=run)
    except Exception as exc:
        logger.exception("embedding run %s failed", run.pk)
        run.status, run.message, run.finished_at = EmbeddingRun.Status.FAILED, str(exc), timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        return run
    run.status, run.finished_at = EmbeddingRun.Status.SUCCEEDED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    from labeling_app.services.training import cold_start_queue_build, training_request

    if Annotation.objects.filter(response__project=run.project, is_current=True).exists():
        with transaction.atomic():
            training_request(project=run.project)
    elif run.project.current_model_id is None:
        cold_start_queue_build(project=run.project)
    return run


def embedding_matrix(*, project: Project) -> tuple[list[int], np.ndarray]:
    """Response ids (in id order) and their stored embeddings as one (n, d) float32 matrix (read-only).

    Served from the project's embedding store (a memory-mapped file rebuilt only when embeddings changed).
    """
    store = embedding_store(project=project)
    return store.ids.tolist(), store.vectors


def embedding_store(*, project: Project) -> EmbeddingStore:
    """The project's embeddings for the configured model: ids, memory-mapped vectors and row norms."""
    return embedding_store_load(project_id=project.pk, model_name=embedding_model_name())


# Above this many ids the project's texts are streamed once rather than fetched by id in batches.
_TEXTS_BY_ID_MAX = 5000
_ID_BATCH = 500  # ids per IN (...) list (SQLite caps the variables of one statement)


def response_texts(*, project: Project, response_ids: list[int]) -> list[str]:
    """Texts of the given responses of a project, in the given order (KeyError for one not in the project).

    Only the rows asked for are read: a few (quotes, top-k) by id, many (training) in one streamed pass.
    """
    wanted = set(response_ids)
    texts: dict[int, str] = {}
    if len(wanted) <= _TEXTS_BY_ID_MAX:
        ordered = sorted(wanted)
        for start in range(0, len(ordered), _ID_BATCH):
            texts.update(project.responses.filter(pk__in=ordered[start:start + _ID_BATCH])
                         .values_list("pk", "text"))
    else:
        for pk, text in project.responses.values_list("pk", "text").iterator(chunk_size=5000):
            if pk in wanted:
                texts[pk] = text
    return [texts[pk] for pk in response_ids]
