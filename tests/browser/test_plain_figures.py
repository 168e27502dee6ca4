"""Figures a survey lead reads without a statistics course (issue 22): an empty project shows no "0.000000%"
and sends no request that cannot succeed; an undefined alpha says why instead of a number; intervals read
"(minus)0.29 to (minus)0.07" with real minus signs; micro F1 is explained where the Model and Insights pages show it; the Label page says in a
visible line that each theme has its own threshold; the audit log reads as changes. Screenshots at 1280, 800
and 390 px."""
import re

import pytest
from playwright.sync_api import expect

from labeling_app.audit.services import acting_as
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.projects.models import Role
from labeling_app.review.services.adjudication import overlap_configure
from labeling_app.themes.services.themes import theme_update
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, ProjectFactory, ResponseFactory, ThemeFactory, UserFactory
from tests.model_versions import model_version_make

pytestmark = pytest.mark.browser
WIDTHS = (1280, 800, 390)
# Every text on screen, the charts' SVG text included.
SCREEN_TEXT = ("document.body.innerText + ' ' + "
               "Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join(' ')")


def _shoot(page, screenshots, name: str, *fits: str) -> None:
    """Full-page screenshots at each width; the elements `fits` (what this issue added) stay inside the window."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for selector in fits:
            box = page.locator(selector).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (selector, width, box)
        page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_empty_project_shows_no_six_digit_percentages_and_asks_nothing_that_fails(live_server, new_page,
                                                                                     screenshots):
    lead = UserFactory(username="lena-lead")
    project = ProjectFactory(name="Just created")
    MembershipFactory(project=project, user=lead, role=Role.ADMIN)
    page = new_page()
    login(page, live_server, lead.username, PASSWORD)
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)

    page.goto(f"{live_server.url}/projects/{project.pk}/insights/")
    expect(page.locator('.chart[data-view="prevalence"]')).to_have_attribute("data-state", "drawn")
    expect(page.locator('.chart[data-view="cooccurrence"]')).to_have_attribute("data-state", "drawn")
    expect(page.locator('.chart[data-view="prevalence"] svg')).to_contain_text("Nothing to chart yet")
    _shoot(page, screenshots, "empty-insights", '.chart[data-view="prevalence"] svg', '.chart[data-view="cooccurrence"] svg')
    for path in ("", "insights/", "model/", "suggestions/", "label/", "agreement/", "responses/"):
        page.goto(f"{live_server.url}/projects/{project.pk}/{path}")
        page.wait_for_load_state("networkidle")
        text = page.evaluate(SCREEN_TEXT)
        assert not re.search(r"\d\.\d{4,}", text), (path, re.findall(r".{0,30}\d\.\d{4,}.{0,10}", text))
        if path == "suggestions/":
            expect(page.locator("#sg-empty")).to_contain_text("No themes yet, so there is nothing to suggest")
            expect(page.locator("#suggestion-filters")).to_have_count(0)
            _shoot(page, screenshots, "empty-suggestions", "#sg-empty")
    assert failed == []  # the Suggestions page asked for theme 0 (a 400) before


def test_suggestions_page_with_themes_but_no_model_asks_only_what_can_succeed(live_server, new_page):
    analyst = UserFactory(username="sam-analyst")
    project = ProjectFactory(name="No model yet")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    ThemeFactory(project=project, name="Price")
    ResponseFactory.create_batch(2, project=project)
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    page.goto(f"{live_server.url}/projects/{project.pk}/suggestions/")
    expect(page.locator("#sg-count")).to_have_text("0 responses")
    expect(page.locator("#sg-threshold")).to_have_text("no model yet")
    assert failed == []


def test_agreement_page_explains_undefined_alpha_and_prints_intervals_with_minus_signs(live_server, prepare_project,
                                                                                         new_page, screenshots):
    pp = prepare_project
    price, delivery = pp.themes
    unused = ThemeFactory(project=pp.project, name="Never used", shortcut="3")
    responses = ResponseFactory.create_batch(12, project=pp.project)
    for user, coded in [(pp.analyst, range(0, 6)), (pp.analyst2, range(4, 10))]:
        annotation_submit(project=pp.project, user=user, items=[
            AnnotationItem(r.pk, [price.pk] if i in coded else [delivery.pk]) for i, r in enumerate(responses)])
    page = new_page()
    login(page, live_server, pp.lead.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{pp.project.pk}/agreement/")
    row = page.locator(f'#agreement-themes tr[data-theme="{unused.pk}"]')
    expect(row.locator(".status")).to_have_text("not enough variation")
    expect(row.locator("td[data-alpha]")).to_have_text("—")
    expect(page.locator("#no-variation-note")).to_contain_text("1 of 3 themes: not enough variation to measure")
    price_row = page.locator(f'#agreement-themes tr[data-theme="{price.pk}"]')
    expect(price_row.locator("td[data-alpha]")).to_have_text(re.compile("^\u2212\\d\\.\\d{3}$"))
    expect(price_row.locator("td.small")).to_have_text(re.compile("^\u2212?\\d\\.\\d\\d to \u2212?\\d\\.\\d\\d$"))
    text = page.evaluate(SCREEN_TEXT)
    assert "undefined" not in text and "–-" not in text and not re.search(r"(^|\s)-\d", text)
    _shoot(page, screenshots, "agreement-plain", "#no-variation-note")


def test_model_page_explains_micro_f1_in_a_visible_line(live_server, prepare_project, new_page, screenshots):
    pp = prepare_project
    responses = list(pp.project.responses.order_by("pk"))
    model_version_make(project=pp.project, theme_ids=[t.pk for t in pp.themes], thresholds=[0.3, 0.6],
                       probabilities={r.pk: [0.5, 0.5] for r in responses})
    page = new_page()
    login(page, live_server, pp.lead.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{pp.project.pk}/model/")
    note = page.locator('[data-note="micro-f1"]')
    expect(note).to_be_visible()
    expect(note).to_contain_text("how closely the model's themes match the ones people gave")
    expect(page.locator("#model-badge")).to_have_attribute("title", re.compile("Micro F1 .*how closely"))
    _shoot(page, screenshots, "model-micro-f1", '[data-note="micro-f1"]')
    page.goto(f"{live_server.url}/projects/{pp.project.pk}/insights/")
    expect(page.locator('[data-note="micro-f1"]')).to_be_hidden()  # human labels only: no F1 on screen
    page.select_option("#f-source", "model")
    page.click("#insights-filters button[type=submit]")
    expect(page.locator("#source-info")).to_contain_text("micro F1")
    expect(page.locator('[data-note="micro-f1"]')).to_be_visible()


def test_label_page_says_each_theme_has_its_own_threshold(live_server, prepare_project, new_page, screenshots):
    pp = prepare_project
    price, delivery = pp.themes
    responses = list(pp.project.responses.order_by("pk"))
    model_version_make(project=pp.project, theme_ids=[price.pk, delivery.pk], thresholds=[0.22, 0.4],
                       probabilities={r.pk: [0.27, 0.32] for r in responses})
    page = new_page()
    login(page, live_server, pp.analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{pp.project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    expect(page.locator("#suggest-legend")).to_be_visible()
    expect(page.locator(f'#theme-toggles button[data-theme="{price.pk}"] .prob')).to_have_text("27% ≥ 22%")
    expect(page.locator(f'#theme-toggles button[data-theme="{delivery.pk}"] .prob')).to_have_text("32% < 40%")
    _shoot(page, screenshots, "label-thresholds", "#suggest-legend")


def test_audit_page_reads_as_changes(live_server, prepare_project, new_page, screenshots):
    pp = prepare_project
    with acting_as(pp.admin):
        overlap_configure(project=pp.project, share=0.5, coders=2, participant_ids=[pp.analyst.pk, pp.analyst2.pk])
        theme_update(theme=pp.themes[0], name="Too expensive")
    annotation_submit(project=pp.project, user=pp.analyst,
                      items=[AnnotationItem(pp.project.responses.order_by("pk").first().pk, [pp.themes[1].pk])])
    page = new_page()
    login(page, live_server, pp.admin.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{pp.project.pk}/audit/")
    changes = page.locator("td.audit-changes")
    expect(changes.filter(has_text="overlap share")).to_contain_text("overlap share: 0% → 50%")
    expect(changes.filter(has_text="participants")).to_contain_text("participants: none → ana-analyst, andy-analyst")
    expect(changes.filter(has_text="name: Price")).to_have_text("name: Price → Too expensive")
    expect(changes.filter(has_text="themes")).to_contain_text("themes: Delivery")
    assert "{'" not in page.locator("table.audit-log").inner_text()
    _shoot(page, screenshots, "audit-changes", "td.audit-changes")
