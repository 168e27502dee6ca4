"""The Suggestions page: the default band starts at each theme's own threshold, shown as a percentage; a band is
reviewed (paged, each response can be unticked) before it is accepted, and only the ticked ones are labelled.
Screenshots of the review go to var/test-output/screenshots/bulk-review-suggestions-*.png."""
import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import SuggestionRejection
from labeling_app.projects.models import Role
from tests.browser.bulk_review import review_screenshots, untick
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, ProjectFactory, ResponseFactory, ThemeFactory, UserFactory
from tests.model_versions import model_version_make

pytestmark = pytest.mark.browser


def test_default_band_is_the_theme_threshold_and_accept_takes_it(live_server, new_page, monkeypatch):
    analyst = UserFactory(username="sue-analyst")
    project = ProjectFactory(name="Thresholds")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    strict = ThemeFactory(project=project, name="Strict", shortcut="1")
    loose = ThemeFactory(project=project, name="Loose", shortcut="2")
    responses = ResponseFactory.create_batch(4, project=project)
    probabilities = [[0.9, 0.1], [0.7, 0.3], [0.55, 0.25], [0.2, 0.15]]
    model_version_make(project=project, theme_ids=[strict.pk, loose.pk], thresholds=[0.75, 0.2],
                       probabilities={r.pk: p for r, p in zip(responses, probabilities, strict=True)})
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/suggestions/")
    rows = page.locator("#suggestion-list tbody tr")
    # Strict (threshold 75%): only 90%, though 70% and 55% are above the old fixed 0.5.
    expect(page.locator("#sg-threshold")).to_have_text("this theme's threshold: 75%")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.num")).to_have_text("90%")
    page.select_option("#sg-theme", str(loose.pk))
    expect(page.locator("#sg-threshold")).to_have_text("this theme's threshold: 20%")
    expect(rows).to_have_count(2)  # 30% and 25%
    expect(rows.locator("td.num")).to_have_text(["30%", "25%"])
    # An explicit band in percent still works.
    page.fill("#sg-min", "12")
    page.click("#suggestion-filters button[type=submit]")
    expect(rows).to_have_count(3)
    page.fill("#sg-min", "")
    page.click("#sg-accept")
    expect(page.locator("#br-list li")).to_have_count(2)
    page.click("#br-confirm")
    expect(page.locator("#sg-status")).to_have_text("Labelled 2 responses.")
    labelled = {a.response_id: set(a.themes.values_list("pk", flat=True))
                for a in analyst.annotations.filter(is_current=True)}
    assert labelled == {responses[1].pk: {loose.pk}, responses[2].pk: {loose.pk}}


COMPLAINT = "I honestly can't think of anything that was good"


def test_a_band_is_reviewed_page_by_page_and_only_the_ticked_responses_are_labelled(live_server, new_page):
    analyst = UserFactory(username="ben-analyst")
    project = ProjectFactory(name="Band review")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    positive = ThemeFactory(project=project, name="Positive experience", shortcut="1")
    waiting = ThemeFactory(project=project, name="Waiting times", shortcut="2")
    # 120 responses in the 90-100% band (three pages of 50), the complaint among them at 98%.
    band = ResponseFactory.create_batch(119, project=project)
    complaint = ResponseFactory(project=project, text=COMPLAINT)
    below = ResponseFactory(project=project, text="Below the band")
    probabilities = {r.pk: [0.99 - 0.0005 * n, 0.1] for n, r in enumerate(band)}
    probabilities[complaint.pk] = [0.98, 0.1]
    probabilities[below.pk] = [0.5, 0.1]
    model_version_make(project=project, theme_ids=[positive.pk, waiting.pk], thresholds=[0.6, 0.5],
                       probabilities=probabilities)
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/suggestions/")
    page.fill("#sg-min", "90")
    page.click("#suggestion-filters button[type=submit]")
    expect(page.locator("#sg-count")).to_have_text("120 responses")
    page.click("#sg-accept")

    dialog = page.locator("#bulk-review")
    expect(dialog).to_be_visible()
    expect(page.locator("#br-title")).to_have_text("Review 120 suggestions of “Positive experience” (90%–100%)")
    expect(page.locator("#br-page")).to_have_text("Page 1 of 3 · 1–50")
    expect(page.locator("#br-confirm")).to_have_text("Label 120 responses with “Positive experience”")
    row = page.locator("#br-list li", has_text=COMPLAINT)
    expect(row.locator(".br-detail")).to_have_text("98%")
    untick(page, complaint.pk)
    # On to page 3, untick one there, and back: both unticks are kept.
    page.click("#br-next")
    page.click("#br-next")
    expect(page.locator("#br-page")).to_have_text("Page 3 of 3 · 101–120")
    expect(page.locator("#br-list li")).to_have_count(20)
    last = int(page.locator("#br-list li").last.get_attribute("data-response"))
    untick(page, last)
    page.click("#br-prev")
    page.click("#br-prev")
    expect(page.locator(f"#br-list li[data-response='{complaint.pk}'] input")).not_to_be_checked()
    expect(page.locator("#br-confirm")).to_have_text("Label 118 responses with “Positive experience”")
    review_screenshots(page, "suggestions")

    page.click("#br-confirm")
    expect(dialog).to_be_hidden()
    expect(page.locator("#sg-status")).to_have_text("Labelled 118 responses.")
    labelled = set(analyst.annotations.filter(is_current=True, themes=positive).values_list("response_id", flat=True))
    assert labelled == {r.pk for r in band} - {last}
    assert complaint.pk not in labelled and not complaint.annotations.exists()
    assert not below.annotations.exists()
    expect(page.locator("#sg-count")).to_have_text("2 responses")  # the two unticked ones are still offered


def test_a_rejected_band_skips_the_unticked_response(live_server, new_page):
    analyst = UserFactory(username="bo-analyst")
    project = ProjectFactory(name="Band reject")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    theme = ThemeFactory(project=project, name="Staff attitude", shortcut="1")
    responses = ResponseFactory.create_batch(3, project=project)
    model_version_make(project=project, theme_ids=[theme.pk], thresholds=[0.5],
                       probabilities={r.pk: [p] for r, p in zip(responses, [0.9, 0.8, 0.7], strict=True)})
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/suggestions/")
    expect(page.locator("#sg-count")).to_have_text("3 responses")
    page.click("#sg-reject")
    untick(page, responses[1].pk)
    expect(page.locator("#br-confirm")).to_have_text("Reject “Staff attitude” for 2 responses")
    page.click("#br-confirm")
    expect(page.locator("#sg-status")).to_have_text("Rejected 2 responses.")
    expect(page.locator("#suggestion-list tbody tr")).to_have_count(1)
    rejected = SuggestionRejection.objects.filter(user=analyst, theme=theme).values_list("response_id", flat=True)
    assert set(rejected) == {responses[0].pk, responses[2].pk}
