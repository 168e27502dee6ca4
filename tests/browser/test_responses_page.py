"""The Responses page shows each response's resolved themes, its state when not resolved, and each coder's set
on demand; screenshots at 1280, 800 and 390 px."""
import pytest
from playwright.sync_api import expect

from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.projects.models import Response
from labeling_app.review.services.adjudication import disagreement_resolve, overlap_configure
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_a_resolved_disagreement_shows_the_leads_themes_and_the_coders_on_demand(
        live_server, prepare_project, new_page, screenshots):
    pp = prepare_project
    project, (price, delivery) = pp.project, pp.themes
    project.responses.all().delete()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"R{i}", text=f"Cancelled because {i}: "
                                          + "the price went up again and the parcel came late. " * (i % 3 + 1))
                                 for i in range(6))
    overlap_configure(project=project, share=0.5, coders=2, participant_ids=[pp.analyst.pk, pp.analyst2.pk])
    overlap = sorted(project.responses.filter(is_overlap=True).values_list("pk", flat=True))
    annotation_submit(project=project, user=pp.analyst, items=[AnnotationItem(r, [price.pk]) for r in overlap])
    annotation_submit(project=project, user=pp.analyst2, items=[AnnotationItem(overlap[0], [price.pk, delivery.pk])])
    disagreement_resolve(project=project, lead=pp.lead, response_id=overlap[0], theme_ids=[delivery.pk])

    page = new_page()
    login(page, live_server, "lee-lead")
    page.goto(f"{live_server.url}/projects/{project.pk}/responses/")
    row = page.locator(f"tr[data-response='{overlap[0]}']")
    cell = row.locator(".rthemes")
    expect(cell).to_have_attribute("data-state", "coded")
    expect(cell.locator(":scope > .chip")).to_have_text(["Delivery"])
    coders = cell.locator("details.coders")
    expect(coders.locator("li").first).not_to_be_visible()  # on demand
    coders.locator("summary").click()
    expect(coders.locator("li")).to_have_count(2)
    expect(coders).to_contain_text("ana-analyst")
    expect(coders).to_contain_text("andy-analyst")
    waiting = page.locator(f"tr[data-response='{overlap[1]}'] .rthemes")
    expect(waiting).to_have_attribute("data-state", "waiting")
    for width in (1280, 800, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshots / f"responses-resolved-{width}.png"), full_page=True)

    blind = new_page()
    login(blind, live_server, "andy-analyst")
    blind.goto(f"{live_server.url}/projects/{project.pk}/responses/")
    expect(blind.locator(f"tr[data-response='{overlap[1]}'] .rthemes")).to_have_attribute("data-state", "blind")
    expect(blind.locator(f"tr[data-response='{overlap[1]}']")).not_to_contain_text("Price")
    expect(blind.locator(f"tr[data-response='{overlap[0]}'] .rthemes > .chip")).to_have_text(["Delivery"])
