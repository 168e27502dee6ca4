"""Codeframes in the browser (issue 25): the NHS Label page with 45 codes under the framework's 11 nets is usable at
1280 and 800 px, sentiment goes in by keyboard; a second wave imported through the page is suggested at once (a
real worker embeds it and retrains) and compared with the first on Insights."""
import csv
import time

import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import Annotation
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.predictions import predictions_current
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Project, Response, Role
from labeling_app.themes.services.themes import theme_create
from tests.browser.conftest import login, screenshots_at_widths
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import MembershipFactory, ResponseFactory, UserFactory


@pytest.mark.browser
def test_the_nhs_label_page_groups_45_codes_under_11_nets_and_takes_sentiment_by_keyboard(
        live_server, new_page, screenshots, nhs_file):
    with (nhs_file.parent / "framework.csv").open(encoding="utf-8") as fh:
        framework = list(csv.DictReader(fh))
    with nhs_file.open(encoding="utf-8") as fh:
        texts = list(dict.fromkeys(row["response"] for row in csv.DictReader(fh) if len(row["response"]) > 80))[:6]
    project = Project.objects.create(name="NHS codeframe", question="What could we do better?", sentiment_levels=5,
                                     labeling_batch_size=3)
    for row in framework:
        theme_create(project=project, name=row["theme"], net=row["category"])
    for i, text in enumerate(texts):
        ResponseFactory(project=project, respondent_id=f"NHS-{i}", text=text)
    analyst = UserFactory()
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    groups = page.locator("#theme-toggles details.net-group")
    expect(groups).to_have_count(11)
    expect(page.locator("#theme-toggles button.toggle")).to_have_count(45)
    staff = project.nets.get(name="Staff")
    staff_group = page.locator(f'details.net-group[data-net="{staff.pk}"]')
    expect(staff_group.locator("button.toggle")).to_have_count(project.themes.filter(net=staff).count())
    expect(page.locator("#sentiment-levels button.mood")).to_have_count(5)
    screenshots_at_widths(page, screenshots, "nhs-label-nets")

    # A collapsed net keeps its keys: the key still codes, and the net's line says so.
    theme = project.themes.filter(net=staff).exclude(shortcut="").order_by("order").first()
    staff_group.locator("summary").click()
    expect(staff_group).not_to_have_attribute("open", "")
    page.locator("body").press(theme.shortcut)
    expect(staff_group.locator("summary")).to_contain_text("1 on")
    page.keyboard.press("Shift+Digit4")
    expect(page.locator('.mood[data-level="4"]')).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Shift+Digit4")  # again: cleared
    expect(page.locator('.mood[data-level="4"]')).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Shift+Digit2")
    served = int(page.locator("#response-card").get_attribute("data-response"))
    page.keyboard.press("Shift+Enter")  # submits what was coded: this response
    expect(page.locator("#status-line")).to_contain_text("Saved 1")
    saved = Annotation.objects.get(response_id=served, coder=analyst, is_current=True)
    assert saved.sentiment == 2 and [t.pk for t in saved.themes.all()] == [theme.pk]
    # The collapsed net stays collapsed on the next response (remembered per project).
    expect(staff_group).not_to_have_attribute("open", "")


NEW_WAVE = [
    "The ice packs had melted when the box arrived, so half the food went straight in the bin.",
    "Prices went up twice this year and the portions got smaller.",
    "I moved abroad and you do not deliver there.",
    "The recipes take far longer than the card says; weeknights are impossible.",
    "Your app logged me out every time I tried to skip a week.",
    "Too much plastic in every box, I could not keep throwing it away.",
    "Customer service never answered my emails about the missing items.",
    "We found a cheaper kit at the supermarket.",
    "Great food but we are eating out more now.",
    "The courier left the box in the rain twice.",
]


@pytest.fixture
def first_wave(transactional_db, demo_vectors):  # type: ignore[no-untyped-def]
    """The demo project as wave 1 with its first model, made before the worker starts (a worker already running
    would race the setup's retrain)."""
    admin = UserFactory(username="wave-admin")
    project = demo_project_make({admin: Role.ADMIN}, demo_vectors, keep_labels=150)
    responses = list(project.responses.all())
    for r in responses:
        r.metadata = {**r.metadata, "wave": "2025"}
    Response.objects.bulk_update(responses, ["metadata"])
    assert training_run(project_id=project.pk, task_id="wave-1").status == ModelVersion.Status.READY
    return project, admin


@pytest.mark.browser
@pytest.mark.worker
def test_a_second_wave_is_suggested_at_once_and_compared_on_insights(first_wave, live_server, celery_worker_process,
                                                                     new_page, screenshots, tmp_path):
    project, admin = first_wave
    upload = tmp_path / "wave-2026.csv"
    with upload.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["respondent_id", "response", "plan"])
        writer.writerows([f"N{i:03d}", text, "Standard"] for i, text in enumerate(NEW_WAVE))
    page = new_page()
    login(page, live_server, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.fill("#import-form input[name=wave]", "2026")
    page.click("#import-form button[type=submit]")
    expect(page.locator(".import-job")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    new_ids = set(project.responses.filter(respondent_id__startswith="N").values_list("pk", flat=True))
    assert len(new_ids) == len(NEW_WAVE)
    assert all(r.metadata["wave"] == "2026" for r in project.responses.filter(pk__in=new_ids))

    # At once: the worker embeds the new wave and retrains; the new version predicts every new answer.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        project.refresh_from_db()
        predictions = predictions_current(project=project)
        if predictions is not None and set(predictions.rows(sorted(new_ids))) == new_ids:
            break
        time.sleep(1)
    else:
        raise AssertionError("the new wave was not suggested within 4 minutes")
    assert project.current_model.number >= 2

    # The queue serves the new wave first, with its suggestions.
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    assert int(page.locator("#response-card").get_attribute("data-response")) in new_ids
    expect(page.locator("#theme-toggles button[data-probability]").first).to_be_visible()

    page.goto(f"{live_server.url}/projects/{project.pk}/insights/")
    expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=60_000)
    waves = page.locator("#view-waves")
    expect(waves).to_contain_text("2 waves (2025, 2026)")
    # Nobody has coded the new wave: on people's labels alone there is one wave to show, and the page says why.
    expect(page.locator("#wave-changes")).to_contain_text("Fewer than two waves have labels")
    page.select_option("#f-source", "model")
    page.click("#insights-filters button[type=submit]")
    chart = waves.locator('.chart[data-view="waves"]')
    expect(chart).to_have_attribute("data-state", "drawn", timeout=60_000)
    expect(chart.locator("svg")).to_contain_text("2026")
    expect(page.locator("#wave-changes")).not_to_contain_text("Fewer than two waves")
    expect(page.locator("#new-themes li").first).to_be_visible()
    screenshots_at_widths(page, screenshots, "insights-waves")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        waves.screenshot(path=screenshots / f"insights-waves-section-{width}.png")
