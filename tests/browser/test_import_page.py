"""An admin imports a CSV through the page, with a real Celery worker and Redis, and finds the responses."""
import base64

import pytest
from playwright.sync_api import expect

from labeling_app.importing.models import ImportJob
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
    counts = page.locator("#project-counts")
    expect(counts.locator("[data-count=responses]")).to_have_text("3")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-form button[type=submit]")

    job = page.locator(".import-job")
    expect(job).to_be_visible()
    expect(job).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(job.locator("progress")).to_have_attribute("value", "100")
    expect(job).to_contain_text("imported 401 responses, 2 themes, 402 labels")
    assert ImportJob.objects.get().status == ImportJob.Status.SUCCEEDED
    # The overview's counts follow the import without a reload.
    expect(counts.locator("[data-count=responses]")).to_have_text("404")
    expect(counts.locator("[data-count=labels]")).to_have_text("402")
    expect(counts.locator("[data-count=themes]")).to_have_text("2")
    assert page.locator("#project-counts").count() == 1

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
    page = _upload_as_admin(new_page(), live_server, prepare_project.project, upload)
    job = page.locator(".import-job")
    expect(job).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(job.get_by_role("alert")).to_contain_text("row 3: empty response")
    assert prepare_project.project.responses.count() == count
    # A failed job looks failed: its bar is red, not a full blue "done" bar.
    bar = job.locator("progress")
    red, green, blue = _middle_pixel(page, bar.screenshot())
    assert red > 150 and green < 90 and blue < 90, (red, green, blue)
    expect(page.locator("#project-counts [data-count=responses]")).to_have_text(str(count))


def test_a_file_refused_at_upload_says_why_in_the_page(live_server, prepare_project, new_page, tmp_path, settings):
    """A file over the size limit is refused before anything is kept (400 with the error partial): the page shows
    why (htmx alone swaps only 2xx answers, so the page used to stay silent)."""
    settings.IMPORT_MAX_BYTES = 1000
    upload = tmp_path / "big.csv"
    upload.write_text("respondent_id,response\n" + "".join(f"R{i},a fine answer\n" for i in range(200)), encoding="utf-8")
    count = prepare_project.project.responses.count()
    page = _upload_as_admin(new_page(), live_server, prepare_project.project, upload)
    expect(page.locator("#import-status")).to_contain_text("file too large", timeout=15_000)
    assert prepare_project.project.responses.count() == count and not prepare_project.project.import_jobs.exists()


def _upload_as_admin(page, live_server, project, upload):  # type: ignore[no-untyped-def]
    """The admin submits `upload` with the project overview's import form."""
    login(page, live_server, "alice-admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-form button[type=submit]")
    return page


def _middle_pixel(page, png: bytes) -> tuple[int, int, int]:
    """The colour at the middle of a screenshot, decoded by the browser (no image library needed)."""
    return tuple(page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(Math.floor(img.width / 2), Math.floor(img.height / 2), 1, 1).data;
        return [d[0], d[1], d[2]]; }""", "data:image/png;base64," + base64.b64encode(png).decode()))
