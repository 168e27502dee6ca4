"""Every kind of background job, by its Celery task's registered name: the one list the sweep, the resume at
worker start and the services that ask for jobs read. Services enqueue by these names and never import a task
module, so a package's tasks may call its services without an import circle.

The names are those the tasks had before the code moved into packages: messages waiting in Redis and outbox rows
of a running installation keep finding their task across the upgrade.
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

TASK_IMPORT_RUN = "labeling_app.tasks.imports.import_run"
TASK_IMPORT_UPLOADS_PURGE = "labeling_app.tasks.imports.import_uploads_purge"
TASK_EMBEDDINGS_COMPUTE = "labeling_app.tasks.embeddings.embeddings_compute"
TASK_EMBEDDINGS_CHUNK = "labeling_app.tasks.embeddings.embeddings_chunk"
TASK_RETRAIN = "labeling_app.tasks.training.retrain"
TASK_DISCOVERY_COMPUTE = "labeling_app.tasks.discovery.discovery_compute"
TASK_DISCOVERY_LAYOUT = "labeling_app.tasks.discovery.discovery_layout"
TASK_REPORT_PDF = "labeling_app.exporting.tasks.report_export_print"  # new with the packages: named after its module
#: Every task name above: an outbox row naming anything else was left by a version whose task is gone.
TASK_NAMES = frozenset({TASK_IMPORT_RUN, TASK_IMPORT_UPLOADS_PURGE, TASK_EMBEDDINGS_COMPUTE, TASK_EMBEDDINGS_CHUNK,
                        TASK_RETRAIN, TASK_DISCOVERY_COMPUTE, TASK_DISCOVERY_LAYOUT, TASK_REPORT_PDF})

#: The packages whose `tasks` module Celery imports (labeling_app.celery).
TASK_PACKAGES = ("labeling_app.importing", "labeling_app.modeling", "labeling_app.discovery", "labeling_app.exporting",
                 "labeling_app.jobs")


def job_task_options(*, time_limit: int) -> dict[str, Any]:
    """Celery options of every long job's task: bound (it reads its own task id for the claim), acknowledged late
    and put back when its worker dies, with a hard time limit (the pool process is killed: the job goes stale and
    is sent again, up to its attempts) and a soft one a margin earlier, which fails the job saying so
    (jobs.services.runs.TIME_LIMIT). No Celery retry rule: the cap on deliveries is the job's `attempts`."""
    from django.conf import settings

    return {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "time_limit": time_limit,
            "soft_time_limit": time_limit - settings.JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS}


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its model, its Celery task, the task's keyword ids for a row, which running rows are jobs
    still (`only`; every running row when None), and what a worker starting sends again: `resume`, the rows whose
    message may never have reached a worker, or `resume_with`, the dotted path of a selector that returns the
    task's keyword ids (a kind whose lost jobs are not rows)."""

    model: str  # "app_label.ModelName"
    task: str
    ids: Callable[[Any], dict[str, int]]
    only: Q | None = None
    resume: Q | None = None
    resume_with: str | None = None


_PENDING = Q(status="pending")

JOB_KINDS: tuple[JobKind, ...] = (
    JobKind("labeling_app.ImportJob", TASK_IMPORT_RUN, lambda j: {"import_job_id": j.pk}, resume=_PENDING),
    JobKind("labeling_app.DiscoveryRun", TASK_DISCOVERY_COMPUTE, lambda r: {"discovery_run_id": r.pk},
            resume=_PENDING),
    JobKind("labeling_app.MapLayout", TASK_DISCOVERY_LAYOUT, lambda m: {"discovery_run_id": m.pk}, resume=_PENDING),
    JobKind("labeling_app.ReportExport", TASK_REPORT_PDF, lambda r: {"report_export_id": r.pk}, resume=_PENDING),
    # A lost retrain request leaves no row: a project whose labels are ahead of its current model gets one.
    JobKind("labeling_app.ModelVersion", TASK_RETRAIN, lambda v: {"project_id": v.project_id},
            resume_with="labeling_app.modeling.selectors.training.retrains_missing"),
    # An embedding run is a job while it plans; once its chunks exist they are the jobs (a run waiting for a
    # worker to take its chunks beats no more and is not lost), and only chunks of a running run are.
    JobKind("labeling_app.EmbeddingRun", TASK_EMBEDDINGS_COMPUTE, lambda r: {"embedding_run_id": r.pk},
            only=Q(chunks__isnull=True), resume=_PENDING),
    JobKind("labeling_app.EmbeddingChunk", TASK_EMBEDDINGS_CHUNK, lambda c: {"chunk_id": c.pk},
            only=Q(run__status="running"), resume=Q(status="pending", run__status="running")),
)
