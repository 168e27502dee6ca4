from celery import Task, shared_task
from django.conf import settings

from labeling_app.jobs.registry import TASK_EMBEDDINGS_CHUNK, TASK_EMBEDDINGS_COMPUTE, job_task_options
from labeling_app.modeling.services.embeddings import embedding_chunk_execute, embedding_run_execute


@shared_task(**job_task_options(time_limit=settings.EMBEDDING_TIME_LIMIT_SECONDS), name=TASK_EMBEDDINGS_COMPUTE)
def embeddings_compute(self: Task, *, embedding_run_id: int) -> str:
    """Plan an embedding run: its chunks go to the embeddings queue as a group; a planned run is not replanned."""
    run = embedding_run_execute(embedding_run_id=embedding_run_id, task_id=self.request.id or "")
    return run.status if run else "skipped"


@shared_task(**job_task_options(time_limit=settings.EMBEDDING_TIME_LIMIT_SECONDS), name=TASK_EMBEDDINGS_CHUNK)
def embeddings_chunk(self: Task, *, chunk_id: int) -> str:
    """Embed one chunk of an embedding run; a finished chunk, or one another worker is running, is skipped."""
    chunk = embedding_chunk_execute(chunk_id=chunk_id, task_id=self.request.id or "",
                                    worker=self.request.hostname or "")
    return chunk.status if chunk else "skipped"
