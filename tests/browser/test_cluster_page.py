"""One cluster's page: every member is shown with a tick, the make-theme button says how many ticked responses it
will label, and only those are labelled."""
import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Role
from tests.browser.bulk_review import small_run
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser


def test_make_theme_says_how_many_and_labels_only_the_ticked(live_server, new_page):
    analyst = UserFactory(username="cy-analyst")
    project = ProjectFactory(name="Cluster review")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    texts = [f"Quick and friendly service ({n})" for n in range(12)]
    texts[5] = "Nothing was quick about it"
    made, cluster = small_run(project, texts)
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/clusters/{cluster.pk}/")
    expect(page.locator("#members tbody tr")).to_have_count(12)
    expect(page.locator("#make-theme")).to_have_text("Make theme and label 12 ticked responses")
    page.locator(f"#members tr[data-response='{made[5].pk}'] input").uncheck()
    expect(page.locator("#make-theme")).to_have_text("Make theme and label 11 ticked responses")
    page.uncheck("#tick-all")
    expect(page.locator("#make-theme")).to_be_disabled()
    page.check("#tick-all")
    page.locator(f"#members tr[data-response='{made[5].pk}'] input").uncheck()
    page.fill("#theme-name", "Quick service")
    page.click("#make-theme")
    expect(page.locator(".messages")).to_contain_text("Theme “Quick service” labels 11 responses.")
    labelled = set(Annotation.objects.filter(is_current=True, coder=analyst, themes__name="Quick service")
                   .values_list("response_id", flat=True))
    assert labelled == {r.pk for r in made} - {made[5].pk}
