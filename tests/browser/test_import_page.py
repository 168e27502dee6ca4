"""An admin imports a CSV through the page, with a real Celery worker and Redis, and finds the responses."""
import pytest
from playwright.sync_api import expect

from labeling_app.models import ImportJob
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CSV = (
    "respondent_id,response,theme,plan\n"
    + "".join(f"W{i:04d},Answer number {i} about the price,Price,Basic\n" for i in range(1, 401))
    + "W0001,Answer number 1 about the price,Delivery,Basic\n"
    + "W9999,Zoë said “it’s late” — again,Delivery,Family\n"
)


def test_import_through_the_page(live_server, celery_worker_process, prepare_project, new_page, tmp_path):
    upload = tmp_path / "survey.csv"
    upload.write_text(CSV, encoding="utf-8")
    page = new_page()
    login(page, live_server, "alice-admin")
    page.click("text=Cancellations")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-form button[type=submit]")

    job = page.locator(".import-job")
    expect(job).to_be_visible()
    expect(job).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(job.locator("progress")).to_have_attribute("value", "100")
    expect(job).to_contain_text("imported 401 responses, 2 themes, 402 labels")
    assert ImportJob.objects.get().status == ImportJob.Status.SUCCEEDED

    job.locator("a", has_text="See the responses").click()
    page.fill("input[name=q]", "Zoë")
    page.click("#response-filters button[type=submit]")
    row = page.locator("#responses tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Zoë said “it’s late” — again")
    expect(row).to_contain_text("Delivery")
    expect(row).to_contain_text("Family")


def test_a_bad_file_shows_the_error_in_the_page(live_server, celery_worker_process, prepare_project, new_page,
                                               tmp_path):
    upload = tmp_path / "bad.csv"
    upload.write_text("respondent_id,response\nB1,fine\nB2,\n", encoding="utf-8")
    count = prepare_project.project.responses.count()
    page = new_page()
    login(page, live_server, "alice-admin")
    page.goto(f"{live_server.url}/projects/{prepare_project.project.pk}/")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-form button[type=submit]")
    job = page.locator(".import-job")
    expect(job).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(job.get_by_role("alert")).to_contain_text("row 3: empty response")
    assert prepare_project.project.responses.count() == count
