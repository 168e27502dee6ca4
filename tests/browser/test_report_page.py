"""The PDF report from the pages with a real Celery worker: a click asks for it, the page shows its progress and
then a download link, without a reload; on the Insights page the report follows the page's filters."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from labeling_app.exporting.models import ReportExport
from labeling_app.importing.services import import_file_run
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.worker]
CSV = b"respondent_id,response,theme,plan\nX1,It costs too much,Price,Basic\nX2,Late box,Delivery,Family\n"


def _printed(page) -> bytes:
    """Wait for the report in #report-status to be printed and download it as the browser does."""
    job = page.locator("#report-status .report-job")
    expect(job).to_be_visible()
    expect(job).to_have_attribute("data-status", "succeeded", timeout=120_000)
    link = job.get_by_role("link", name="Download the report")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "cancellations-report.pdf"
    with open(download.value.path(), "rb") as fh:
        return fh.read()


def test_the_report_is_asked_for_polled_and_downloaded_from_the_pages(live_server, celery_worker_process,
                                                                     prepare_project, new_page, screenshots):
    project = prepare_project.project
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", CSV))
    page = new_page()
    login(page, live_server, "ana-analyst")

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    url = page.url
    page.locator("#report-form button[type=submit]").click()
    assert _printed(page).startswith(b"%PDF")
    assert page.url == url  # no reload: the partial polled in place
    page.locator("#export").screenshot(path=screenshots / "report-pdf-overview.png")
    assert ReportExport.objects.get().params == {}

    page.goto(f"{live_server.url}/projects/{project.pk}/insights/")
    expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=90_000)
    page.select_option("#f-meta-key", "plan")
    page.select_option("#f-meta-value", "Family")
    page.locator("#insights-filters button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=90_000)
    page.locator("#report-form button[type=submit]").click()
    assert _printed(page).startswith(b"%PDF")
    page.locator("#view-export").screenshot(path=screenshots / "report-pdf-insights.png")
    latest = ReportExport.objects.order_by("-pk").first()
    assert latest.params["meta"] == ["plan:Family"] and latest.params["source"] == ["human"]
    assert latest.status == ReportExport.Status.SUCCEEDED and latest.requested_by == prepare_project.analyst
