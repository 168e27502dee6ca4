"""Importing a long-format file: all or nothing, with progress."""
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction
from django.db.models import CharField
from django.utils import timezone

from labeling_app.importing.errors import ImportFileError, RowError
from labeling_app.importing.parser import ParsedImport, parse_long_format
from labeling_app.importing.readers import read_table
from labeling_app.models import Annotation, ImportJob, Project, Response, Theme
from labeling_app.selectors.insights_data import insights_tables_warm
from labeling_app.services.audit import acting_as, audit_record
from labeling_app.services.job_runs import (
    JobLost,
    job_claim,
    job_fail,
    job_failure_reason,
    job_heartbeat,
    job_succeed,
)
from labeling_app.services.jobs import enqueue_on_commit
from labeling_app.services.progress import progress_set
from labeling_app.services.themes import PALETTE, SHORTCUT_KEYS
from labeling_app.services.training import training_inputs_changed
from labeling_app.services.users import file_coder_get, imported_coder_get

logger = logging.getLogger(__name__)
CHUNK = 1000


def _max_length(model: type[Response] | type[Theme], field: str) -> int:
    """A CharField's column limit, so the parser (which knows no models) checks what the database holds."""
    column = model._meta.get_field(field)
    assert isinstance(column, CharField)
    return int(column.max_length or 0)


def _check_upload(upload: File) -> None:
    if upload.size == 0:
        raise ImportFileError([RowError("the file is empty (0 bytes)")])
    if upload.size and upload.size > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            [RowError(f"file too large: {upload.size / 1e6:.1f} MB, the limit is "
                      f"{settings.IMPORT_MAX_BYTES / 1e6:.1f} MB")]
        )


def import_job_create(*, project: Project, user: User | None, upload: File) -> ImportJob:
    """Store the upload and queue its import on a worker; size is checked before anything is kept."""
    from labeling_app.tasks.imports import import_run

    _check_upload(upload)
    with transaction.atomic():
        job = ImportJob.objects.create(
            project=project, uploaded_by=user, file=upload, original_name=upload.name or "upload"
        )
        enqueue_on_commit(import_run, import_job_id=job.pk)
    return job


def import_file_run(*, project: Project, user: User | None, upload: File) -> ImportJob:
    """Import a file in this process (the command line's path); the same job record and code as a worker's."""
    _check_upload(upload)
    job = ImportJob.objects.create(
        project=project, uploaded_by=user, file=upload, original_name=upload.name or "upload"
    )
    import_job_run(import_job_id=job.pk)
    job.refresh_from_db()
    return job


def _job_claim(job_id: int, task_id: str) -> ImportJob | None:
    def exhausted(job: ImportJob, reason: str) -> None:
        _fail(job, f"the import was {reason}", errors=[{"row": None, "message": reason}])

    return job_claim(ImportJob, pk=job_id, task_id=task_id, on_exhausted=exhausted)


def import_job_run(*, import_job_id: int, task_id: str = "") -> ImportJob | None:
    """Run one import job to the end: either everything is written, the job marked succeeded, or nothing is.

    Claimed, beaten and fenced by services.job_runs: a delivery whose worker was lost is run again (by the same
    or a new task id), and only the delivery that owns the job commits its rows.
    """
    job = _job_claim(import_job_id, task_id)
    if job is None:
        return None
    progress_set(kind="import", job_id=job.pk, percent=1)
    try:
        with job_heartbeat(job, task_id=task_id):
            with job.file.open("rb") as fh:
                data = fh.read()
            table = read_table(data, job.original_name, max_bytes=settings.IMPORT_MAX_BYTES,
                               max_rows=settings.IMPORT_MAX_ROWS, max_columns=settings.IMPORT_MAX_COLUMNS,
                               max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES)
            progress_set(kind="import", job_id=job.pk, percent=10)
            parsed = parse_long_format(
                table, max_response_chars=settings.IMPORT_MAX_RESPONSE_CHARS,
                max_respondent_id_chars=_max_length(Response, "respondent_id"),
                max_theme_chars=_max_length(Theme, "name"))
            progress_set(kind="import", job_id=job.pk, percent=20)
            _write(job, parsed, task_id=task_id)
    except JobLost:
        logger.warning("import %s was taken over by another delivery; this one wrote nothing", job.pk)
        return None
    except ImportFileError as exc:
        _fail(job, str(exc), errors=[e.as_dict() for e in exc.errors], task_id=task_id)
        return job
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        _fail(job, job_failure_reason(exc, f"the import failed unexpectedly: {exc}"),
              errors=[{"row": None, "message": str(exc)}], task_id=task_id)
        return job
    _finished(job)
    try:
        insights_tables_warm(project=job.project)
    except Exception:  # the views build the tables themselves on first use; the import has succeeded
        logger.exception("warming the insights tables of project %s failed", job.project_id)
    return job


def _fail(job: ImportJob, message: str, *, errors: list, task_id: str | None = None) -> None:
    if job_fail(job, message, task_id=task_id, errors=errors, progress=100):
        _finished(job)


def _finished(job: ImportJob) -> None:
    progress_set(kind="import", job_id=job.pk, percent=100)
    import_uploads_prune()


def import_uploads_prune() -> int:
    """Delete the uploaded files of imports, succeeded or failed, finished longer ago than
    IMPORT_UPLOAD_RETENTION_HOURS; the jobs stay, with their counts, errors and `file_purged_at`.

    Returns how many files went. Runs after every import and periodically (the `import_uploads_purge` task,
    the `purge_uploads` command), so files expire even when nobody imports. Safe to run twice or at once:
    a job already purged is skipped, and a file already gone is no error.
    """
    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_UPLOAD_RETENTION_HOURS)
    done = ImportJob.objects.filter(finished_at__lte=cutoff).exclude(file="").only("pk", "file")
    pruned = 0
    for job in done.iterator():
        job.file.delete(save=False)
        # Only the run that clears the name records the purge (two runs at once delete the file once).
        pruned += ImportJob.objects.filter(pk=job.pk).exclude(file="").update(file="", file_purged_at=timezone.now())
    if pruned:
        logger.info("deleted %s expired import upload(s)", pruned)
    return pruned


@transaction.atomic
def _write(job: ImportJob, parsed: ParsedImport, *, task_id: str) -> None:
    """Write the file's rows and mark the job succeeded, in one transaction (JobLost rolls it all back)."""
    project = Project.objects.select_for_update().get(pk=job.project_id)
    existing = {r.respondent_id: r for r in project.responses.filter(
        respondent_id__in=[p.respondent_id for p in parsed.respondents])}
    conflicts = [
        RowError(f"respondent {p.respondent_id!r} is already in the project with a different response", p.row)
        for p in parsed.respondents
        if p.respondent_id in existing and existing[p.respondent_id].text != p.text
    ]
    if conflicts:
        raise ImportFileError(conflicts[:50])

    themes, created = _themes_ensure(project, parsed.theme_names)
    new = [p for p in parsed.respondents if p.respondent_id not in existing]
    total = max(len(parsed.respondents), 1)
    for start in range(0, len(new), CHUNK):
        chunk = new[start:start + CHUNK]
        made = Response.objects.bulk_create(
            [Response(project=project, respondent_id=p.respondent_id, text=p.text, metadata=p.metadata,
                      import_job=job) for p in chunk]
        )
        existing.update({r.respondent_id: r for r in made})
        progress_set(kind="import", job_id=job.pk, percent=20 + 60 * (start + len(chunk)) // total)

    by_coder: dict[str, dict[int, set[int]]] = {}
    for p in parsed.respondents:
        # Without a coder column every labelled response is the file's; with one, each coder's rows are theirs.
        for name, names in (p.coders.items() if p.coders else ([("", p.themes)] if p.themes else [])):
            by_coder.setdefault(name, {})[existing[p.respondent_id].pk] = {themes[t.casefold()].pk for t in names}
    for name, theme_ids_by_response in by_coder.items():
        coder = file_coder_get(project=project, name=name) if name else imported_coder_get()
        _imported_labels_write(coder, theme_ids_by_response, changed_by=job.uploaded_by)
    double = [existing[p.respondent_id].pk for p in parsed.respondents if len(p.coders) > 1]
    if double:
        # Coded by several people: agreement is measured on them, and they wait for a lead if they differ.
        Response.objects.filter(pk__in=double).update(is_overlap=True)
    labelled = [p for p in parsed.respondents if p.themes or p.coders]
    if new or labelled or created:
        # The embedding run this import queues asks for the retrain once the new texts are embedded.
        training_inputs_changed(project=project, retrain=False)
    job.responses_created, job.themes_created = len(new), created
    job.themes_in_file, job.labels_created = len(parsed.theme_names), parsed.label_count
    # In the rows' own transaction: a worker lost after this commit leaves a finished job, never one that a
    # redelivery would run again (and count as "0 new responses").
    job_succeed(job, task_id=task_id, message=job.summary, progress=100, responses_created=job.responses_created,
                themes_created=created, themes_in_file=job.themes_in_file, labels_created=job.labels_created)
    with acting_as(job.uploaded_by):  # runs in a worker: the change is the uploader's
        audit_record(project=job.project_id, action="import", target_type="import", target_id=job.pk,
                     summary=f"{job.original_name}: {job.summary}",
                     after={"file": job.original_name, "responses": len(new),
                            "themes_created": created, "labels": parsed.label_count})
    from labeling_app.services.embeddings import embedding_run_request

    embedding_run_request(project=project)


def _themes_ensure(project: Project, names: list[str]) -> tuple[dict[str, Theme], int]:
    themes = {t.name.casefold(): t for t in project.themes.all()}
    used_keys = {t.shortcut for t in themes.values() if t.shortcut and not t.archived}
    free_keys = iter(k for k in SHORTCUT_KEYS if k not in used_keys)
    order = max((t.order for t in themes.values()), default=0)
    missing = [n for n in names if n.casefold() not in themes]
    new = []
    for offset, name in enumerate(missing, start=1):
        new.append(Theme(project=project, name=name, order=order + offset,
                         colour=PALETTE[(order + offset - 1) % len(PALETTE)], shortcut=next(free_keys, "")))
    for theme in Theme.objects.bulk_create(new):
        themes[theme.name.casefold()] = theme
    return themes, len(new)


def _imported_labels_write(coder: User, theme_ids_by_response: dict[int, set[int]], *,
                           changed_by: User | None) -> None:
    """Record the file's labels as one coder's annotations, keeping any earlier ones as history."""
    if not theme_ids_by_response:
        return
    previous = {
        a.response_id: a
        for a in Annotation.objects.filter(
            response_id__in=theme_ids_by_response, coder=coder, is_current=True
        ).prefetch_related("themes")
    }
    wanted: dict[int, set[int]] = {}
    for response_id, theme_ids in theme_ids_by_response.items():
        before = previous.get(response_id)
        merged = theme_ids | ({t.pk for t in before.themes.all()} if before else set())
        if before is None or merged != {t.pk for t in before.themes.all()}:
            wanted[response_id] = merged
    Annotation.objects.filter(pk__in=[previous[r].pk for r in wanted if r in previous]).update(is_current=False)
    annotations = Annotation.objects.bulk_create(
        [Annotation(response_id=r, coder=coder, source=Annotation.Source.IMPORT, changed_by=changed_by or coder,
                    supersedes=previous.get(r)) for r in wanted]
    )
    through = Annotation.themes.through
    through.objects.bulk_create(
        [through(annotation_id=a.pk, theme_id=t) for a in annotations for t in sorted(wanted[a.response_id])],
        batch_size=5000,
    )
