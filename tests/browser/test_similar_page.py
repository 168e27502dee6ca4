""""More like this" in the browser: the ticked responses are reviewed (each can be unticked) before they are
labelled, and only those left ticked are. Screenshots go to var/test-output/screenshots/bulk-review-similar-*.png."""
import numpy as np
import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import Annotation
from labeling_app.modeling.models import ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_model_name
from labeling_app.projects.models import Response, Role
from labeling_app.themes.services.themes import theme_create
from ml.embeddings import text_hash
from tests.browser.bulk_review import review_screenshots, untick
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser

COMPLAINT = "Parking was a nightmare and the car park machine ate my card"


def test_ticked_responses_are_reviewed_and_only_those_left_ticked_are_labelled(live_server, new_page):
    analyst = UserFactory(username="ivy-analyst")
    project = ProjectFactory(name="Similar review")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    theme = theme_create(project=project, name="Positive experience")
    texts = [f"The staff were kind and helpful, visit {n}" for n in range(80)]
    texts[57] = COMPLAINT
    made = Response.objects.bulk_create(Response(project=project, respondent_id=f"S{n:03d}", text=t)
                                        for n, t in enumerate(texts))
    # Every response near the first: "more like this" ranks them all.
    rng = np.random.default_rng(0)
    centre = rng.normal(size=32)
    ResponseEmbedding.objects.bulk_create(
        ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash=text_hash(r.text),
                          vector=(centre + 0.1 * rng.normal(size=32)).astype(np.float32).tobytes()) for r in made)
    anchor = made[0]
    complaint = made[57]

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/similar/?response={anchor.pk}&k=70")
    rows = page.locator("#similar tbody tr")
    expect(rows).to_have_count(70)
    shown = [int(rows.nth(i).get_attribute("data-response")) for i in range(70)]
    assert complaint.pk in shown
    page.check("#tick-all")
    page.click("#similar-label")
    expect(page.locator("#bulk-review")).to_be_visible()
    expect(page.locator("#br-title")).to_have_text("Review the 70 ticked responses before labelling")
    expect(page.locator("#br-page")).to_have_text("Page 1 of 2 · 1–50")
    on_page_two = shown.index(complaint.pk) >= 50
    if on_page_two:
        page.click("#br-next")
    untick(page, complaint.pk)
    page.click("#br-prev" if on_page_two else "#br-next")
    page.click("#br-next" if on_page_two else "#br-prev")  # back again: the untick is kept
    expect(page.locator(f"#br-list li[data-response='{complaint.pk}'] input")).not_to_be_checked()
    expect(page.locator("#br-confirm")).to_have_text("Label 69 responses with “Positive experience”")
    review_screenshots(page, "similar")
    assert not Annotation.objects.exists()

    page.click("#br-confirm")
    expect(page.locator(".messages")).to_contain_text("Labelled 69 responses with “Positive experience”.")
    labelled = set(Annotation.objects.filter(is_current=True, coder=analyst, themes=theme)
                   .values_list("response_id", flat=True))
    assert labelled == set(shown) - {complaint.pk}
    assert not complaint.annotations.exists()
    # The page shows what is left unlabelled: the complaint among it.
    expect(page.locator(f"#similar tbody tr[data-response='{complaint.pk}']")).to_have_count(1)


def test_nothing_ticked_says_so_and_writes_nothing(live_server, new_page):
    analyst = UserFactory(username="ola-analyst")
    project = ProjectFactory(name="Similar none")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    theme_create(project=project, name="Positive experience")
    made = Response.objects.bulk_create(Response(project=project, respondent_id=f"S{n}", text=f"text {n}")
                                        for n in range(3))
    ResponseEmbedding.objects.bulk_create(
        ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash=text_hash(r.text),
                          vector=np.full(8, 1.0 + n, dtype=np.float32).tobytes()) for n, r in enumerate(made))
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/similar/?response={made[0].pk}")
    expect(page.locator("#similar tbody tr")).to_have_count(2)
    page.click("#similar-label")
    expect(page.locator("#similar-status")).to_have_text("Tick the responses to label first.")
    expect(page.locator("#bulk-review")).to_have_count(0)
    assert not Annotation.objects.exists()
