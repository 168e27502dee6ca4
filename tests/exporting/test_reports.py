"""The PDF report as a job: asked for (checked, recorded, sent after commit), printed by a worker once however
often it is delivered, failed with a reason, kept for its retention period; over the API, asked for (202),
polled and downloaded with a real worker."""
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from labeling_app.exporting import services
from labeling_app.exporting.models import ReportExport
from labeling_app.exporting.services import report_export_request, report_export_run, report_files_prune
from labeling_app.importing.services import import_file_run
from labeling_app.jobs.models import OutboxJob
from labeling_app.jobs.registry import TASK_REPORT_PDF
from labeling_app.jobs.services.runs import TIME_LIMIT

CAN_PRINT = bool(shutil.which("pdftotext") and Path(settings.REPORT_CHROMIUM).exists())
needs_chromium = pytest.mark.skipif(not CAN_PRINT, reason="needs chromium (REPORT_CHROMIUM) and poppler")
CSV = b"respondent_id,response,theme,plan\nX1,@everyone it costs too much,Price,Basic\nX2,Late box,Delivery,Family\n"


@pytest.fixture
def coded(prepare_project):
    import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("f.csv", CSV))
    return prepare_project


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def printer(monkeypatch):
    """report_pdf_render replaced by a counter: how many times a report was printed, and with what."""
    printed: list[tuple] = []

    def fake(scope, options=None):
        printed.append((scope, options))
        return b"%PDF-1.4 fake"

    monkeypatch.setattr(services, "report_pdf_render", fake)
    return printed


@pytest.mark.django_db
def test_asking_checks_the_filters_records_the_report_and_sends_it_after_commit(
        coded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = report_export_request(project=coded.project, user=coded.analyst,
                                    params={"meta": ["plan:Family"], "source": "model", "segment": "", "x": "y"})
    assert (job.status, job.requested_by, job.params) == ("pending", coded.analyst,
                                                          {"source": ["model"], "meta": ["plan:Family"]})
    assert len(callbacks) == 1
    assert OutboxJob.objects.get(task=TASK_REPORT_PDF).kwargs == {"report_export_id": job.pk}
    for params, message in (({"source": "guess"}, "source must be"), ({"meta": ["plan"]}, "KEY:VALUE"),
                            ({"segment": "nope"}, "Unknown metadata column 'nope'"),
                            ({"score": "nope"}, "Unknown metadata column 'nope'")):
        with pytest.raises(ValidationError, match=message):
            report_export_request(project=coded.project, user=coded.analyst, params=params)
    assert ReportExport.objects.count() == 1  # nothing recorded for a bad request


@needs_chromium
@pytest.mark.django_db
def test_a_worker_prints_the_report_under_its_filters_and_keeps_the_file(coded, tmp_path):
    job = report_export_request(project=coded.project, user=coded.analyst, params={"meta": ["plan:Family"]})
    done = report_export_run(report_export_id=job.pk, task_id="t1")
    assert done is not None and done.status == "succeeded", done and done.message
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 1 and job.finished_at is not None
    assert job.file.name.startswith(f"reports/project-{coded.project.pk}/") and job.file.name.endswith(".pdf")
    data = job.file.read()
    assert data.startswith(b"%PDF") and job.size == len(data)
    text = _pdf_text(data, tmp_path)
    assert "Late box" in text and "plan = Family" in text
    assert "@everyone" not in text  # a Basic respondent: the filter went with the job


@pytest.mark.django_db
def test_a_missing_or_failing_chromium_leaves_a_failed_row_that_says_why(coded, settings):
    settings.REPORT_CHROMIUM = "/nowhere/chromium"
    job = report_export_request(project=coded.project, user=coded.analyst, params={})
    failed = report_export_run(report_export_id=job.pk, task_id="t1")
    assert failed is not None and failed.status == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and not job.file and job.finished_at is not None
    assert "'/nowhere/chromium' (setting REPORT_CHROMIUM)" in job.message
    if Path("/bin/false").exists():
        settings.REPORT_CHROMIUM = "/bin/false"
        job = report_export_request(project=coded.project, user=coded.analyst, params={})
        report_export_run(report_export_id=job.pk, task_id="t2")
        job.refresh_from_db()
        assert job.status == "failed" and "Chromium could not print the report (exit status 1)" in job.message


@pytest.mark.django_db
def test_a_column_gone_since_the_request_and_the_time_limit_fail_the_job_in_words(coded, monkeypatch):
    job = ReportExport.objects.create(project=coded.project, params={"segment": ["gone"]})
    report_export_run(report_export_id=job.pk, task_id="t1")
    job.refresh_from_db()
    assert job.status == "failed" and job.message == "the report could not be made: Unknown metadata column 'gone'."

    def too_long(scope, options=None):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "report_pdf_render", too_long)
    job = ReportExport.objects.create(project=coded.project)
    report_export_run(report_export_id=job.pk, task_id="t2")
    job.refresh_from_db()
    assert job.status == "failed" and job.message == TIME_LIMIT


@pytest.mark.django_db
def test_a_redelivered_task_does_not_print_the_report_twice(coded, printer):
    job = report_export_request(project=coded.project, user=coded.analyst, params={})
    assert report_export_run(report_export_id=job.pk, task_id="t1").status == "succeeded"
    # The same message again (late ack after the worker was lost), and another copy under a new id: both skip.
    assert report_export_run(report_export_id=job.pk, task_id="t1") is None
    assert report_export_run(report_export_id=job.pk, task_id="t2") is None
    assert len(printer) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.task_id, job.file.read()) == ("succeeded", 1, "t1", b"%PDF-1.4 fake")
    # A report printing live under another delivery is left to it.
    running = ReportExport.objects.create(project=coded.project, status="running", task_id="other",
                                          heartbeat_at=timezone.now())
    assert report_export_run(report_export_id=running.pk, task_id="t3") is None
    assert len(printer) == 1


@pytest.mark.django_db
def test_a_delivery_taken_over_while_printing_keeps_no_file(coded, monkeypatch):
    job = ReportExport.objects.create(project=coded.project)

    def taken_over(scope, options=None):  # the sweep gave the job to another delivery meanwhile
        ReportExport.objects.filter(pk=job.pk).update(task_id="successor")
        return b"%PDF-1.4 fake"

    monkeypatch.setattr(services, "report_pdf_render", taken_over)
    assert report_export_run(report_export_id=job.pk, task_id="t1") is None
    job.refresh_from_db()
    assert job.status == "running" and job.task_id == "successor" and not job.file
    assert not list((Path(settings.MEDIA_ROOT) / "reports").rglob("*.pdf"))


@pytest.mark.django_db
def test_printed_files_are_deleted_after_the_retention_and_the_row_stays(coded, printer, settings):
    settings.REPORT_RETENTION_HOURS = 24
    old, new = (report_export_request(project=coded.project, user=None, params={}) for _ in range(2))
    for job in (old, new):
        report_export_run(report_export_id=job.pk, task_id=f"t{job.pk}")
    ReportExport.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(hours=25))
    path = Path(ReportExport.objects.get(pk=old.pk).file.path)
    assert path.exists()
    assert report_files_prune() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert not path.exists() and not old.file and old.file_purged_at is not None and old.status == "succeeded"
    assert new.file and Path(new.file.path).exists()
    assert report_files_prune() == 0


# ---- the API ----------------------------------------------------------------------------------------------


def _reports_url(project) -> str:
    return reverse("api-report-exports", args=[project.pk])


@pytest.mark.django_db
def test_the_export_endpoint_points_pdf_clients_at_the_job(coded):
    response = coded.client("analyst").get(reverse("api-export", args=[coded.project.pk]) + "?format=pdf")
    assert response.status_code == 400
    assert f"POST the same parameters to /api/projects/{coded.project.pk}/reports/" in response.json()["message"]
    assert not ReportExport.objects.exists()


@pytest.mark.django_db
def test_asking_answers_202_with_the_row_and_bad_parameters_400(coded, django_capture_on_commit_callbacks):
    client = coded.client("analyst")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(_reports_url(coded.project), {"meta": ["plan:Family"], "segment": "plan"},
                               format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    job = ReportExport.objects.get()
    assert body["id"] == job.pk and body["status"] == "pending" and body["download_url"] is None
    assert body["params"] == {"meta": ["plan:Family"], "segment": ["plan"]}
    assert body["url"] == response["Location"] == f"/api/projects/{coded.project.pk}/reports/{job.pk}/"
    for bad, message in (({"source": "guess"}, "source"), ({"meta": ["plan"]}, "KEY:VALUE"),
                         ({"segment": "nope"}, "Unknown metadata column"), ({"meta": "plan:Family"}, "meta"),
                         ({"date_from": "2024-13-40"}, "date_from")):
        refused = client.post(_reports_url(coded.project), bad, format="json")
        assert refused.status_code == 400, (bad, refused.content)
        assert set(refused.json()) == {"message", "details"} and message in refused.json()["message"], bad
    assert ReportExport.objects.count() == 1
    listed = client.get(_reports_url(coded.project)).json()
    assert [r["id"] for r in listed["results"]] == [job.pk]


@pytest.mark.django_db
def test_the_file_is_409_until_printed_410_once_deleted(coded, printer):
    client = coded.client("analyst")
    job = report_export_request(project=coded.project, user=coded.analyst, params={})
    file_url = reverse("api-report-export-file", args=[coded.project.pk, job.pk])
    pending = client.get(file_url)
    assert pending.status_code == 409 and "not printed yet" in pending.json()["message"]
    failed = ReportExport.objects.create(project=coded.project, status="failed", message="Chromium said no")
    answer = client.get(reverse("api-report-export-file", args=[coded.project.pk, failed.pk]))
    assert answer.status_code == 409 and "Chromium said no" in answer.json()["message"]
    report_export_run(report_export_id=job.pk, task_id="t1")
    ok = client.get(file_url, HTTP_ACCEPT="application/pdf")
    assert ok.status_code == 200 and ok["Content-Type"] == "application/pdf"
    assert ok["Content-Disposition"] == 'attachment; filename="cancellations-report.pdf"'
    assert b"".join(ok.streaming_content) == b"%PDF-1.4 fake"
    ReportExport.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=30))
    report_files_prune()
    gone = client.get(file_url)
    assert gone.status_code == 410 and "ask for it again" in gone.json()["message"]
    assert client.get(reverse("api-report-export", args=[coded.project.pk, job.pk])).json()["download_url"] is None


@pytest.mark.worker
@needs_chromium
def test_asked_for_polled_and_downloaded_with_a_real_worker(coded, celery_worker_process, tmp_path):
    client = coded.client("lead")
    asked = client.post(_reports_url(coded.project), {"meta": ["plan:Family"]}, format="json")
    assert asked.status_code == 202, asked.content
    row = asked.json()
    deadline = time.monotonic() + 120
    while row["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        polled = client.get(row["url"])
        assert polled.status_code == 200
        row = polled.json()
    assert row["status"] == "succeeded", row
    assert row["download_url"] == f"/api/projects/{coded.project.pk}/reports/{row['id']}/file/" and row["size"] > 0
    download = client.get(row["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    data = b"".join(download.streaming_content)
    assert data.startswith(b"%PDF") and len(data) == row["size"]
    text = _pdf_text(data, tmp_path)
    assert "Late box" in text and "@everyone" not in text
    # Another project's member finds nothing there.
    assert coded.client("outsider").get(row["download_url"]).status_code == 404
