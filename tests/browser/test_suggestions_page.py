"""The Suggestions page: the default band starts at each theme's own threshold, shown as a percentage."""
import pytest
from playwright.sync_api import expect

from labeling_app.models import Role
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
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#sg-accept")
    expect(page.locator("#sg-status")).to_have_text("Labelled 2 responses.")
    labelled = {a.response_id: set(a.themes.values_list("pk", flat=True))
                for a in analyst.annotations.filter(is_current=True)}
    assert labelled == {responses[1].pk: {loose.pk}, responses[2].pk: {loose.pk}}
