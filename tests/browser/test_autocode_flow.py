"""Finishing with the model, end to end in the browser: an admin previews and confirms the auto-code gate, the
Responses page and the export show the model's codes as such, the lead draws a blind check that two analysts code
without seeing the model's themes, the Agreement page shows the measured figures beside the claim, and undo removes
exactly the model's codes."""
import csv
import io

import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import Annotation, AutoCode
from labeling_app.labeling.selectors.autocodes import autocodes_current
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.autocode import autocode_preview
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from labeling_app.review.selectors.autocode_check import autocode_check
from tests.browser.conftest import login, screenshots_at_widths
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

QC_SIZE = 4



def _target_that_codes(project) -> float:
    """The highest target (in 0.05 steps down from 0.9) at which the demo's model codes at least 20 responses."""
    for target in (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6):
        preview = autocode_preview(project=project, target=target)
        if preview is not None and len(preview.response_ids) >= 20:
            return target
    raise AssertionError("the demo's model codes nothing even at 0.6")


def _open_label_page(page, live_server, project) -> None:
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")


def _code_checked_items(page, checked: set[int], key: str, screenshot=None) -> list[int]:
    """Code the analyst's batch on the Label page (one theme each); every item must be from the blind check and
    show no suggestion."""
    coded = []
    for i in range(2):
        card = page.locator("#response-card")
        response_id = int(card.get_attribute("data-response"))
        assert response_id in checked
        # Blind: the model's themes are not shown (no suggestion, nothing pressed).
        expect(page.locator("#theme-toggles button[data-probability]")).to_have_count(0)
        expect(page.locator("#theme-toggles button.suggested")).to_have_count(0)
        expect(page.locator('#theme-toggles button[aria-pressed="true"]')).to_have_count(0)
        if screenshot and i == 0:
            page.screenshot(path=screenshot)  # a blind-check item as its coder sees it
        page.keyboard.press(key)
        page.keyboard.press("Shift+Enter")
        expect(page.locator("#response-card")).not_to_have_attribute("data-response", str(response_id))
        coded.append(response_id)
    return coded


def test_the_model_codes_the_rest_is_checked_blind_and_undone(live_server, demo_vectors, new_page, screenshots):
    admin, lea, ann, bob = (UserFactory(username=n) for n in ("ada-admin", "lea-checker", "ann-checker", "bob-checker"))
    project = demo_project_make({admin: Role.ADMIN, lea: Role.LEAD, ann: Role.ANALYST, bob: Role.ANALYST},
                                demo_vectors, keep_labels=150)
    project.labeling_batch_size = 2
    project.save(update_fields=["labeling_batch_size"])
    assert training_run(project_id=project.pk, task_id="v1").status == ModelVersion.Status.READY
    project.refresh_from_db()
    target = _target_that_codes(project)
    expected = autocode_preview(project=project, target=target)
    human_before = sorted(Annotation.objects.filter(response__project=project).values_list("pk", flat=True))

    page = new_page()
    login(page, live_server, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    page.fill("#autocode-target", str(target))
    page.click("#autocode-preview-button")
    claim = page.locator("#autocode-claim")
    expect(claim).to_contain_text(f"would code {len(expected.response_ids)} of the {expected.eligible:,}")
    expect(claim).to_contain_text(f"expected micro F1 {expected.claimed_f1:.2f}")
    expect(page.locator("#autocode-themes tbody tr")).to_have_count(project.themes.filter(archived=False).count())
    assert not AutoCode.objects.exists()  # a preview writes nothing
    screenshots_at_widths(page, screenshots, "autocode-preview")
    page.click("#autocode-confirm")
    expect(page.locator("#autocode-status")).to_contain_text(f"Coded by the model now: {len(expected.response_ids)}")
    codes = autocodes_current(project=project)
    assert set(codes) == set(expected.response_ids)

    # The Responses page and the export show them as the model's.
    page.goto(f"{live_server.url}/projects/{project.pk}/responses/?uncoded=1")
    expect(page.locator('.rthemes[data-state="model"]').first).to_contain_text("model:")
    export = page.request.get(f"{live_server.url}/api/projects/{project.pk}/export/?format=csv-wide")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    by_respondent = dict(project.responses.values_list("respondent_id", "pk"))
    assert {by_respondent[r["respondent_id"]] for r in rows if r["label_source"] == "auto"} == set(codes)

    # The lead draws the blind check on the Model page.
    lead = new_page()
    login(lead, live_server, lea.username, PASSWORD)
    lead.goto(f"{live_server.url}/projects/{project.pk}/model/")
    lead.fill("#autocode-check-size", str(QC_SIZE))
    lead.click("#autocode-check")
    expect(lead.locator("#autocode-check-figures")).to_contain_text(f"Blind check: 0 of {QC_SIZE}")
    checked = set(AutoCode.objects.filter(in_qc=True).values_list("response_id", flat=True))
    assert len(checked) == QC_SIZE and checked <= set(codes)

    # Two analysts code it blind, two items each (their batches are two long and the check comes first).
    pages = {}
    for user in (ann, bob):  # both open the Label page before either codes: each is served half the check
        pages[user] = new_page()
        login(pages[user], live_server, user.username, PASSWORD)
        _open_label_page(pages[user], live_server, project)
    done = _code_checked_items(pages[ann], checked, "1") + _code_checked_items(
        pages[bob], checked, "2", screenshot=screenshots / "autocode-blind-label.png")
    assert sorted(done) == sorted(checked)

    lead.goto(f"{live_server.url}/projects/{project.pk}/agreement/")
    figures = autocode_check(project=project)["qc"]
    assert figures["checked"] == QC_SIZE
    table = lead.locator("#autocode-check-figures")
    expect(table.locator('tr[data-figure="micro_f1"] td').nth(1)).to_have_text(f"{figures['micro_f1']:.2f}")
    expect(table.locator('tr[data-figure="micro_f1"] td').nth(3)).to_contain_text(f"{figures['claimed_f1']:.2f}")
    expect(table.locator('tr[data-figure="alpha"]')).to_be_visible()
    screenshots_at_widths(lead, screenshots, "autocode-agreement")
    lead.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(lead.locator("#autocode-line")).to_contain_text(
        f"coded by model v1, measured micro-F1 {figures['micro_f1']:.2f} ")
    expect(lead.locator("#autocode-line")).to_contain_text(f"on a blind check of {QC_SIZE}; ")

    # Undo removes exactly the model's codes: people's codings (the check's included) stay.
    human_now = sorted(Annotation.objects.filter(response__project=project).values_list("pk", flat=True))
    assert len(human_now) == len(human_before) + QC_SIZE
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#autocode-undo")
    expect(page.locator("#autocode-status")).to_have_count(0)
    assert not AutoCode.objects.exists() and autocodes_current(project=project) == {}
    assert sorted(Annotation.objects.filter(response__project=project).values_list("pk", flat=True)) == human_now


def test_a_lead_checks_labels_with_one_click(live_server, demo_vectors, new_page, screenshots):
    lea = UserFactory(username="lea-labels")
    project = demo_project_make({lea: Role.LEAD}, demo_vectors, keep_labels=150)
    version = training_run(project_id=project.pk, task_id="v1")
    assert version.status == ModelVersion.Status.READY and version.label_issues
    first, second = (row["response"] for row in version.label_issues[:2])
    page = new_page()
    login(page, live_server, lea.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/agreement/")
    page.click("#check-labels-link")
    cards = page.locator(".label-check")
    expect(cards.first).to_have_attribute("data-response", str(first))
    screenshots_at_widths(page, screenshots, "check-labels")
    cards.first.get_by_role("button", name="Codes are right").click()
    expect(page.locator(".messages")).to_contain_text("Codes confirmed")
    expect(cards.first).to_have_attribute("data-response", str(second))
    # Fix the next one: untick everything, tick the last theme, save; the lead's decision is what counts now.
    card = cards.first
    card.locator("summary").click()
    for box in card.locator('input[name="theme"]').all():
        box.uncheck()
    last = project.themes.filter(archived=False).order_by("order", "pk").last()
    card.locator(f'input[name="theme"][value="{last.pk}"]').check()
    card.get_by_role("button", name="Save the fix").click()
    expect(page.locator(".messages")).to_contain_text("Fixed")
    expect(page.locator(f'.label-check[data-response="{second}"]')).to_have_count(0)
    from labeling_app.labeling.selectors.consensus import consensus_for_project

    assert consensus_for_project(project=project).resolved[second] == {last.pk}
