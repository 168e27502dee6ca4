"""Importing a long-format file: all or nothing, with progress."""
import contextlib
import logging
import os
from array import array
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.db import DatabaseError, transaction
from django.db.models import CharField
from django.utils import timezone

from labeling_app.audit.services import acting_as, audit_record
from labeling_app.core.db import rows_insert, values_insert
from labeling_app.core.progress import progress_set
from labeling_app.importing.errors import ImportFileError, RowError
from labeling_app.importing.models import ImportJob
from labeling_app.importing.parser import SENTIMENT_COLUMN, LongFormatParser, LongRow
from labeling_app.importing.readers import table_open
from labeling_app.insights.selectors.data import insights_tables_warm
from labeling_app.jobs.registry import TASK_IMPORT_RUN
from labeling_app.jobs.services.outbox import enqueue_on_commit
from labeling_app.jobs.services.runs import (
    JobLost,
    job_claim,
    job_fail,
    job_failure_reason,
    job_heartbeat,
    job_succeed,
)
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Project, Response
from labeling_app.projects.selectors.waves import WAVE_COLUMN
from labeling_app.projects.services.training_requests import training_inputs_changed
from labeling_app.projects.services.users import file_coder_get, imported_coder_get
from labeling_app.themes.models import Net, Theme
from labeling_app.themes.services.themes import PALETTE, SHORTCUT_KEYS

logger = logging.getLogger(__name__)
BATCH = 1000  # responses per INSERT, and responses per round of label writes


def _max_length(model: type[Response] | type[Theme], field: str) -> int:
    """A CharField's column limit, so the parser (which knows no models) checks what the database holds."""
    column = model._meta.get_field(field)
    assert isinstance(column, CharField)
    return int(column.max_length or 0)


@dataclass
class ImportCounts:
    responses: int = 0
    themes_created: int = 0
    themes_in_file: int = 0
    labels: int = 0


def _check_upload(upload: File) -> None:
    if upload.size == 0:
        raise ImportFileError([RowError("the file is empty (0 bytes)")])
    if upload.size and upload.size > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            [RowError(f"file too large: {upload.size / 1e6:.1f} MB, the limit is "
                      f"{settings.IMPORT_MAX_BYTES / 1e6:.1f} MB")]
        )


def import_job_create(*, project: Project, user: User | None, upload: File, wave: str = "") -> ImportJob:
    """Store the upload and queue its import on a worker; size is checked before anything is kept. `wave` marks
    the file's responses as a wave of the question (their `wave` column)."""

    _check_upload(upload)
    with transaction.atomic():
        job = ImportJob.objects.create(
            project=project, uploaded_by=user, file=upload, original_name=upload.name or "upload",
            wave=" ".join(wave.split())[:100],
        )
        enqueue_on_commit(TASK_IMPORT_RUN, import_job_id=job.pk)
    return job


def import_file_run(*, project: Project, user: User | None, upload: File, wave: str = "") -> ImportJob:
    """Import a file in this process (the command line's path); the same job record and code as a worker's."""
    _check_upload(upload)
    job = ImportJob.objects.create(
        project=project, uploaded_by=user, file=upload, original_name=upload.name or "upload",
        wave=" ".join(wave.split())[:100],
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
            import_job_write(job=job, task_id=task_id)
    except JobLost:
        logger.warning("import %s was taken over by another delivery; this one wrote nothing", job.pk)
        return None
    except ImportFileError as exc:
        _fail(job, str(exc), errors=[e.as_dict() for e in exc.errors], task_id=task_id)
        return job
    except DatabaseError as exc:
        # The transaction rolled back whole: say so, so nobody looks for half an import.
        logger.exception("import %s failed on a database error", job.pk)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # not the rows PostgreSQL quotes
        message = f"the database refused the import, so nothing was imported and the project is as it was: {reason}"
        _fail(job, message, errors=[{"row": None, "message": message}], task_id=task_id)
        return job
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        reason = _stored_names_hide(str(exc), job)
        _fail(job, job_failure_reason(exc, f"the import failed unexpectedly, so nothing was imported: {reason}"),
              errors=[{"row": None, "message": reason}], task_id=task_id)
        return job
    _finished(job)
    try:
        insights_tables_warm(project=job.project)
    except Exception:  # the views build the tables themselves on first use; the import has succeeded
        logger.exception("warming the insights tables of project %s failed", job.project_id)
    return job


def _stored_names_hide(text: str, job: ImportJob) -> str:
    """An error's text with the stored upload's name and place on disk put back to the name it was uploaded as."""
    names = {job.file.name or "", os.path.basename(job.file.name or "")}
    with contextlib.suppress(NotImplementedError, ValueError):  # a store without local paths, or no file
        names.add(job.file.path)
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(name, job.original_name or "the file")
    return text


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


def import_job_write(*, job: ImportJob, task_id: str) -> ImportCounts:
    """Read, check and write a job's file and mark the job succeeded, in one transaction: all of it, or (on any
    error, or JobLost when another delivery took the job over) nothing.

    The file is read as a stream and written in batches of BATCH responses as it is read, so memory stays
    flat as files grow; what is kept per row is a few integers (which respondent, coder and theme), from which
    the labels are written once every response is in. Raises ImportFileError listing the file's problems.
    """
    with job.file.open("rb") as source, table_open(
            source, job.original_name, max_bytes=settings.IMPORT_MAX_BYTES, max_rows=settings.IMPORT_MAX_ROWS,
            max_columns=settings.IMPORT_MAX_COLUMNS,
            max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES) as table:
        parser = LongFormatParser(
            table.header, max_response_chars=settings.IMPORT_MAX_RESPONSE_CHARS,
            max_respondent_id_chars=_max_length(Response, "respondent_id"), max_theme_chars=_max_length(Theme, "name"))
        with transaction.atomic():
            project = Project.objects.select_for_update().get(pk=job.project_id)
            writer = _ImportWriter(job, project, parser, table.position)
            for row in parser.rows(table.rows):
                writer.add(row)
            writer.flush()
            if parser.errors:
                raise ImportFileError(parser.sorted_errors())
            parser.release()
            counts = writer.finish()
            _succeed(job, counts, task_id=task_id, project=project)
            return counts


def _succeed(job: ImportJob, counts: ImportCounts, *, task_id: str, project: Project) -> None:
    job.responses_created, job.themes_created = counts.responses, counts.themes_created
    job.themes_in_file, job.labels_created = counts.themes_in_file, counts.labels
    # In the rows' own transaction: a worker lost after this commit leaves a finished job, never one that a
    # redelivery would run again (and count as "0 new responses").
    job_succeed(job, task_id=task_id, message=job.summary, progress=100, responses_created=counts.responses,
                themes_created=counts.themes_created, themes_in_file=counts.themes_in_file,
                labels_created=counts.labels)
    with acting_as(job.uploaded_by):  # runs in a worker: the change is the uploader's
        audit_record(project=job.project_id, action="import", target_type="import", target_id=job.pk,
                     summary=f"{job.original_name}: {job.summary}",
                     after={"file": job.original_name, "responses": counts.responses,
                            "themes_created": counts.themes_created, "labels": counts.labels})
    from labeling_app.modeling.services.embeddings import embedding_run_request

    embedding_run_request(project=project)




class _ImportWriter:
    """Writes one import's rows inside its transaction: responses in batches as they come, labels at the end."""

    def __init__(self, job: ImportJob, project: Project, parser: LongFormatParser, position: Callable[[], float]):
        self.job, self.project, self.parser, self.position = job, project, parser, position
        self.pending: list[LongRow] = []  # respondents' first rows, not yet written
        self.response_pks = array("q")  # by respondent number
        self.codings = array("i")  # (coder, respondent, theme) per coding row, flat: 12 bytes a row
        self.themes = _ThemeSet(project)
        self.is_new = bytearray()  # by respondent number: made by this import (so no earlier labels)
        self.created = 0
        self.percent = 1

    def add(self, row: LongRow) -> None:
        if row.metadata is not None:
            self.pending.append(row)
        if row.coder >= 0:
            self.codings.extend((row.coder, row.respondent, row.theme))
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the pending respondents that are new; a respondent already stored must have the same text."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        by_id = {r.respondent_id: r for r in batch}  # a respondent's first row comes once
        existing: dict[str, int] = {}
        for respondent_id, pk, text in self.project.responses.filter(
                respondent_id__in=list(by_id)).values_list("respondent_id", "pk", "text"):
            existing[respondent_id] = pk
            if by_id[respondent_id].text != text:
                self.parser.error(RowError(f"respondent {respondent_id!r} is already in the project with a "
                                           "different response", by_id[respondent_id].number))
        if self.parser.errors:
            return  # the import will be refused: checking goes on, writing stops
        self.themes.ensure(self.parser.theme_names, self.parser.theme_details, self.parser.theme_nets)
        new = [r for r in batch if r.respondent_id not in existing]
        made: dict[str, int] = {}
        if new:
            rows_insert(Response(project=self.project, import_job=self.job, respondent_id="", text=""),
                        ("respondent_id", "text", "metadata"),
                        [(r.respondent_id, r.text, self._with_wave(r.metadata)) for r in new], bulk=True)
            made = dict(self.project.responses.filter(respondent_id__in=[r.respondent_id for r in new])
                        .values_list("respondent_id", "pk"))
            existing.update(made)
            self.created += len(made)
        self.response_pks.extend(existing[r.respondent_id] for r in batch)
        self.is_new.extend(r.respondent_id in made for r in batch)
        self._progress(5 + int(75 * self.position()))

    def _with_wave(self, metadata: dict | None) -> dict | None:
        if not self.job.wave or any(k.strip().lower() == WAVE_COLUMN for k in (metadata or {})):
            return metadata
        return {**(metadata or {}), WAVE_COLUMN: self.job.wave}

    def _progress(self, percent: int) -> None:
        if percent > self.percent:
            self.percent = percent
            progress_set(kind="import", job_id=self.job.pk, percent=percent)

    def finish(self) -> ImportCounts:
        """Write the labels of every response, once all responses are in; returns what the import made."""
        self.themes.ensure(self.parser.theme_names, self.parser.theme_details, self.parser.theme_nets)
        self.themes.describe(self.parser.theme_details)
        labelled = bool(self.codings)
        labels = self._labels_write() if labelled else 0
        if labelled and any(name.strip().lower() == SENTIMENT_COLUMN for _, name in self.parser.meta_columns):
            self._sentiment_write()
        if self.created or labelled or self.themes.created:
            # The embedding run this import queues asks for the retrain once the new texts are embedded.
            training_inputs_changed(project=self.project, retrain=False)
        return ImportCounts(responses=self.created, themes_created=self.themes.created,
                            themes_in_file=len(self.parser.theme_names), labels=labels)

    def _sentiment_write(self) -> None:
        """The file's `sentiment` column (kept as metadata too) is the coders' sentiment of the responses it codes:
        1 = most positive, on 5 levels (3 when no value passes 3). A project that coded no sentiment starts to;
        a column with anything but whole levels is left as metadata only."""
        pks = np.frombuffer(self.response_pks, dtype=np.int64).tolist()
        values: dict[int, int] = {}
        for start in range(0, len(pks), BATCH):
            for pk, metadata in Response.objects.filter(pk__in=pks[start:start + BATCH]).values_list("pk", "metadata"):
                raw = next((str(v).strip() for k, v in (metadata or {}).items()
                            if k.strip().lower() == SENTIMENT_COLUMN), "")
                if not raw:
                    continue
                if not (raw.isdigit() and 1 <= int(raw) <= 5):
                    return  # not a sentiment scale: metadata only
                values[pk] = int(raw)
        if not values:
            return
        levels = self.project.sentiment_levels or (5 if max(values.values()) > 3 else 3)
        if max(values.values()) > levels:
            return  # a 5-level column into a 3-level project: metadata only
        if not self.project.sentiment_levels:
            Project.objects.filter(pk=self.project.pk).update(sentiment_levels=levels)
            self.project.sentiment_levels = levels
        by_level: dict[int, list[int]] = {}
        for pk, level in values.items():
            by_level.setdefault(level, []).append(pk)
        for level, ids in by_level.items():
            for start in range(0, len(ids), BATCH):
                Annotation.objects.filter(response_id__in=ids[start:start + BATCH], is_current=True,
                                          source=Annotation.Source.IMPORT, sentiment__isnull=True
                                          ).update(sentiment=level)

    def _labels_write(self) -> int:
        """Write each coder's annotations, BATCH responses at a time; returns the number of labels."""
        shape = (len(self.parser.coder_names), self.parser.respondents, len(self.parser.theme_names) + 1)
        triples = np.frombuffer(self.codings, dtype=np.intc).astype(np.int64).reshape(-1, 3)
        # One sortable integer per coding row, (coder, respondent, theme + 1; 0 for "no theme"): sorted and
        # unique, a respondent's rows for one coder come together, wherever they were in the file.
        keys = np.ravel_multi_index((triples[:, 0], triples[:, 1], triples[:, 2] + 1), shape)
        del triples
        self.codings = array("i")
        keys = np.unique(keys)
        coders, respondents, themes = np.unravel_index(keys, shape)
        response_pks = np.frombuffer(self.response_pks, dtype=np.int64)
        theme_pks = [-1, *self.themes.pks]
        is_new = np.frombuffer(self.is_new, dtype=np.uint8).astype(bool)
        # Without a coder column every labelled response is the file's; with one, each coder's rows are theirs.
        for coder_index in range(shape[0]):
            first, last = np.searchsorted(coders, [coder_index, coder_index + 1])
            if first == last:
                continue
            name = self.parser.coder_names[coder_index]
            coder = file_coder_get(project=self.project, name=name) if name else imported_coder_get()
            starts = first + np.flatnonzero(np.r_[True, np.diff(respondents[first:last]) != 0])
            for chunk in range(0, len(starts), BATCH):
                begin = starts[chunk]
                end = starts[chunk + BATCH] if chunk + BATCH < len(starts) else last
                theme_ids_by_response: dict[int, set[int]] = {}
                for respondent, theme in zip(respondents[begin:end].tolist(), themes[begin:end].tolist(), strict=True):
                    ids = theme_ids_by_response.setdefault(int(response_pks[respondent]), set())
                    if theme:
                        ids.add(theme_pks[theme])
                chunk_respondents = respondents[starts[chunk:chunk + BATCH]]
                fresh = set(response_pks[chunk_respondents[is_new[chunk_respondents]]].tolist())
                _imported_labels_write(coder, theme_ids_by_response, changed_by=self.job.uploaded_by, new=fresh)
                self._progress(80 + 19 * int(end) // len(keys))
        # Coded by several people: agreement is measured on them, and they wait for a lead if they differ.
        per_respondent = np.bincount(np.unique(keys // shape[2]) % shape[1], minlength=shape[1])
        double = response_pks[np.flatnonzero(per_respondent > 1)].tolist()
        for start in range(0, len(double), BATCH):
            Response.objects.filter(pk__in=double[start:start + BATCH]).update(is_overlap=True)
        return int(np.count_nonzero(themes))


class _ThemeSet:
    """The project's themes by case-folded name; names new to the project are created as the file names them.

    A theme the file describes in a theme row (`themeloop_row` theme/archived_theme) is created with that
    description and archived state; a theme the project has already is left as the project has it."""

    def __init__(self, project: Project):
        self.project = project
        self.by_name = {t.name.casefold(): t for t in project.themes.all()}
        used = {t.shortcut for t in self.by_name.values() if t.shortcut and not t.archived}
        self.free_keys = iter([k for k in SHORTCUT_KEYS if k not in used])
        self.order = max((t.order for t in self.by_name.values()), default=0)
        self.code = max((t.code for t in self.by_name.values()), default=0)
        self.nets = {n.name.casefold(): n for n in Net.objects.filter(project=project)}
        self.pks: list[int] = []  # by the parser's theme index
        self.made: dict[int, Theme] = {}  # by the parser's theme index: the themes this import created
        self.created = 0

    def ensure(self, names: list[str], details: dict[int, tuple[str, bool]],
               nets: dict[int, tuple[str, int]] | None = None) -> None:
        """Make sure each of `names` past those seen before exists (names come in order of first appearance)."""
        start = len(self.pks)
        fresh = names[start:]
        new: dict[int, Theme] = {}
        for index, name in enumerate(fresh, start=start):
            if name.casefold() not in self.by_name:
                description, archived = details.get(index, ("", False))
                self.order += 1
                self.code += 1
                # An archived theme holds no key (keys are unique among live themes only).
                net_name = (nets or {}).get(index, ("", 0))[0]
                new[index] = Theme(project=self.project, name=name, order=self.order, code=self.code,
                                   description=description, net=self.net(net_name) if net_name else None,
                                   archived=archived, colour=PALETTE[(self.order - 1) % len(PALETTE)],
                                   shortcut="" if archived else next(self.free_keys, ""))
        for theme in Theme.objects.bulk_create(list(new.values())):
            self.by_name[theme.name.casefold()] = theme
        self.made.update(new)
        self.created += len(new)
        self.pks.extend(self.by_name[name.casefold()].pk for name in fresh)

    def net(self, name: str) -> Net:
        """The project's net of that name, made (numbered after the others) when the file names it first."""
        net = self.nets.get(name.casefold())
        if net is None:
            code = max((n.code for n in self.nets.values()), default=0) + 1
            order = max((n.order for n in self.nets.values()), default=0) + 1
            net = self.nets[name.casefold()] = Net.objects.create(project=self.project, name=name, code=code,
                                                                  order=order)
        return net

    def describe(self, details: dict[int, tuple[str, bool]]) -> None:
        """Give the themes this import created the description and state of a theme row that came after
        their first label (a hand-made file; ThemeLoop's export puts the theme rows first)."""
        late = []
        for index, (description, archived) in details.items():
            theme = self.made.get(index)
            if theme is not None and (theme.description, theme.archived) != (description, archived):
                theme.description, theme.archived = description, archived
                theme.shortcut = "" if archived else theme.shortcut
                late.append(theme)
        Theme.objects.bulk_update(late, ["description", "archived", "shortcut"])


def _imported_labels_write(coder: User, theme_ids_by_response: dict[int, set[int]], *,
                           changed_by: User | None, new: Container[int] = ()) -> None:
    """Record the file's labels as one coder's annotations, keeping any earlier ones as history.

    `new`: responses this import created, which cannot have earlier annotations (not looked up).
    """
    if not theme_ids_by_response:
        return
    older = [r for r in theme_ids_by_response if r not in new]
    previous = {
        a.response_id: a
        for a in Annotation.objects.filter(response_id__in=older, coder=coder, is_current=True)
        .prefetch_related("themes")
    } if older else {}
    wanted: dict[int, set[int]] = {}
    for response_id, theme_ids in theme_ids_by_response.items():
        before = previous.get(response_id)
        merged = theme_ids | ({t.pk for t in before.themes.all()} if before else set())
        if before is None or merged != {t.pk for t in before.themes.all()}:
            wanted[response_id] = merged
    Annotation.objects.filter(pk__in=[previous[r].pk for r in wanted if r in previous]).update(is_current=False)
    if not wanted:
        return
    rows_insert(Annotation(coder=coder, source=Annotation.Source.IMPORT, changed_by=changed_by or coder),
                ("response_id", "supersedes_id"), [(r, previous[r].pk if r in previous else None) for r in wanted],
                bulk=True)
    made = Annotation.objects.filter(response_id__in=list(wanted), coder=coder, is_current=True).values_list(
        "response_id", "pk")
    # Two integer columns: plain rows, not a model instance each (the most numerous rows an import writes).
    through = Annotation.themes.through._meta
    column = {f.name: str(f.column) for f in through.concrete_fields}
    values_insert(through.db_table, [column["annotation"], column["theme"]],
                  [(pk, t) for response_id, pk in made for t in sorted(wanted[response_id])], bulk=True)
