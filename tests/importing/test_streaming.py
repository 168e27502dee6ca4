"""Streaming imports: flat memory as files grow, rows of one respondent anywhere in the file, and a database
error in the middle of an import leaving the project exactly as it was."""
import gc
import tracemalloc

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import BATCH, import_file_run, import_job_write
from labeling_app.jobs.services.runs import job_claim
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Project, Response
from labeling_app.themes.models import Theme

THEMES = ["Price", "Delivery", "Staff", "Food quality", "Waiting time", "Parking", "Cleanliness"]


def long_csv(respondents: int, *, start: int = 0, themes_per: int = 2, header: bool = True) -> bytes:
    """A long-format file: each respondent on `themes_per` consecutive rows, a text of ~90 characters and
    two metadata columns."""
    lines = ["respondent_id,response,theme,region,score"] if header else []
    for i in range(start, start + respondents):
        for k in range(themes_per):
            lines.append(f"R{i},{answer(i)},{THEMES[(i + k) % len(THEMES)]},Region {i % 9},{i % 5}")
    return ("\n".join(lines) + "\n").encode()


def answer(i: int) -> str:
    return f"Answer {i}: the box came late again and the recipes were not what the website showed us."


def project_state(project: Project) -> dict:
    """Everything an import can change, as plain values."""
    project.refresh_from_db()
    annotations = Annotation.objects.filter(response__project=project).order_by("pk")
    return {
        "project": (project.labels_revision, project.current_model_id),
        "responses": list(project.responses.order_by("pk").values_list(
            "pk", "respondent_id", "text", "metadata", "is_overlap", "import_job_id")),
        "themes": list(project.themes.order_by("pk").values_list("pk", "name", "order", "shortcut", "archived")),
        "annotations": [(a.pk, a.response_id, a.coder_id, a.is_current, a.supersedes_id,
                         sorted(t.pk for t in a.themes.all())) for a in annotations.prefetch_related("themes")],
        "users": list(get_user_model().objects.order_by("pk").values_list("pk", "username")),
    }


def _fault_install(table: str, respondent_id: str) -> None:
    """A trigger that makes the database itself refuse an insert into `table` for `respondent_id`'s row."""
    respondent = "NEW.respondent_id" if table == "labeling_app_response" else (
        "(SELECT respondent_id FROM labeling_app_response WHERE id = NEW.response_id)")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"""
                CREATE FUNCTION import_fault() RETURNS trigger AS $$ BEGIN
                    IF {respondent} = '{respondent_id}' THEN RAISE EXCEPTION 'disk full (test fault)'; END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql""")
            cursor.execute(f"CREATE TRIGGER import_fault BEFORE INSERT ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION import_fault()")
        else:
            cursor.execute(f"CREATE TRIGGER import_fault BEFORE INSERT ON {table} WHEN {respondent} = "
                           f"'{respondent_id}' BEGIN SELECT RAISE(ABORT, 'disk full (test fault)'); END")


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["labeling_app_response", "labeling_app_annotation"])
def test_a_database_error_mid_import_leaves_the_project_as_it_was_and_says_so(prepare_project, table):
    project = prepare_project.project
    first = import_file_run(project=project, user=None, upload=SimpleUploadedFile("a.csv", long_csv(10)))
    assert first.status == ImportJob.Status.SUCCEEDED, first.message
    before = project_state(project)
    # The same ten respondents with a new theme each (their labels would be superseded), then 3,000 new ones
    # with a new theme name; the database refuses a row in the third batch of responses (or, for annotations,
    # one written after every response is in).
    again = (long_csv(10, themes_per=3) + long_csv(3 * BATCH, start=10, header=False)
             + f"R20,{answer(20)},Brand new theme,Region 2,0\n".encode())
    _fault_install(table, f"R{10 + 2 * BATCH + 500}")
    job = import_file_run(project=project, user=prepare_project.admin, upload=SimpleUploadedFile("b.csv", again))

    assert job.status == ImportJob.Status.FAILED
    assert "nothing was imported and the project is as it was" in job.message
    assert "disk full (test fault)" in job.message
    assert job.errors and "disk full (test fault)" in job.errors[0]["message"]
    assert job.responses_created == 0 and job.progress == 100
    assert project_state(project) == before


def _traced_peak(job: ImportJob) -> int:
    claimed = job_claim(ImportJob, pk=job.pk, task_id=f"trace-{job.pk}")
    assert claimed is not None
    gc.collect()
    tracemalloc.start()
    try:
        counts = import_job_write(job=claimed, task_id=f"trace-{job.pk}")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert counts.responses > 0


@pytest.mark.django_db
def test_memory_stays_flat_as_the_file_grows(prepare_project):
    project = prepare_project.project
    jobs = {}
    for name, respondents in [("warm-up", 300), ("small", 2_500), ("large", 10_000)]:
        upload = SimpleUploadedFile(f"{name}.csv", long_csv(respondents, start=len(jobs) * 100_000))
        jobs[name] = ImportJob.objects.create(project=project, file=upload, original_name=upload.name)
        del upload
    _traced_peak(jobs["warm-up"])  # first-use caches (query compilation, regexes) are not the file's
    small, large = _traced_peak(jobs["small"]), _traced_peak(jobs["large"])
    # 5,000 and 20,000 rows: a whole-file import holds every row (~4x); a stream holds a batch and a few
    # integers per row.
    assert large < 2 * small, f"peak {small / 1e6:.1f} MB for 5,000 rows, {large / 1e6:.1f} MB for 20,000"
    assert Response.objects.filter(project=project).count() == 3 + 300 + 2_500 + 10_000


@pytest.mark.django_db
def test_a_respondents_rows_far_apart_make_one_annotation_per_coder(prepare_project):
    project = prepare_project.project
    text = "Answer {}: fine"
    rows = ["respondent_id,response,theme,coder"]
    rows.append(f"A,{text.format('A')},Price,ann")
    rows += [f"N{i},{text.format(i)},Staff,ann" for i in range(2 * BATCH + 50)]
    rows.append(f"A,{text.format('A')},Delivery,ann")  # same coder, two batches later
    rows.append(f"A,{text.format('A')},Staff,bob")  # a second coder: A is coded twice
    rows.append(f"N1,{text.format(1)},,bob")  # bob coded N1 with no theme
    job = import_file_run(project=project, user=None,
                          upload=SimpleUploadedFile("far.csv", ("\n".join(rows) + "\n").encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.responses_created == 2 * BATCH + 51 and job.labels_created == 2 * BATCH + 50 + 3
    a = project.responses.get(respondent_id="A")
    by_coder = {x.coder.first_name: sorted(t.name for t in x.themes.all()) for x in a.annotations.all()}
    assert by_coder == {"ann": ["Delivery", "Price"], "bob": ["Staff"]}
    assert a.is_overlap and project.responses.get(respondent_id="N1").is_overlap
    assert not project.responses.get(respondent_id="N2").is_overlap
    n1 = project.responses.get(respondent_id="N1").annotations.get(coder__first_name="bob")
    assert list(n1.themes.all()) == []
    assert Annotation.objects.filter(response__project=project).count() == 2 * BATCH + 50 + 1 + 1 + 1


@pytest.mark.django_db
def test_a_clash_with_stored_responses_in_a_later_batch_is_reported_with_the_files_other_errors(prepare_project):
    project = prepare_project.project
    Response.objects.create(project=project, respondent_id=f"R{BATCH + 100}", text="an older, different answer")
    before = project_state(project)
    data = long_csv(BATCH + 200, themes_per=1) + b"R9999,,Price,North,1\n"
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("clash.csv", data))
    assert job.status == ImportJob.Status.FAILED
    assert [e["row"] for e in job.errors] == [BATCH + 100 + 2, BATCH + 200 + 2]
    assert f"respondent 'R{BATCH + 100}' is already in the project with a different response" in job.message
    assert "empty response for respondent 'R9999'" in job.message
    assert project_state(project) == before
    assert not Theme.objects.filter(project=project, name="Staff").exists()
