"""Blind double coding end to end: two analysts code the same item apart, the lead decides, the model learns it."""
import pytest
from playwright.sync_api import expect

from labeling_app.models import ModelVersion, Role
from labeling_app.selectors.consensus import consensus_for_project
from labeling_app.services.review import overlap_configure
from labeling_app.services.training import training_run
from tests.browser.conftest import login
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def _code_first_blind(page, live_server, project, key: str) -> int:
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    expect(page.locator("#blind")).to_be_visible()
    # Blind: neither the model's suggestions nor anyone else's themes are shown.
    expect(page.locator("#theme-toggles button[data-probability]")).to_have_count(0)
    expect(page.locator("#theme-toggles button.suggested")).to_have_count(0)
    expect(page.locator('#theme-toggles button[aria-pressed="true"]')).to_have_count(0)
    response_id = int(page.locator("#response-card").get_attribute("data-response"))
    api = page.request.get(f"{live_server.url}/api/projects/{project.pk}/responses/{response_id}/")
    assert api.json()["themes"] == []
    page.keyboard.press(key)
    page.keyboard.press("Shift+Enter")  # submits the response on screen (and any visited before it)
    expect(page.locator("#status-line")).to_contain_text("Saved 1")
    return response_id


def test_two_blind_coders_disagree_and_the_model_learns_the_leads_decision(live_server, demo_vectors, new_page,
                                                                            screenshots):
    ann, bob, lea = (UserFactory(username=n) for n in ("ann-coder", "bob-coder", "lea-lead"))
    project = demo_project_make({ann: Role.ANALYST, bob: Role.ANALYST, lea: Role.LEAD}, demo_vectors,
                                keep_labels=120)
    assert training_run(project_id=project.pk, task_id="v1").status == ModelVersion.Status.READY
    overlap_configure(project=project, share=1.0, coders=2, participant_ids=[ann.pk, bob.pk])
    first, second = project.themes.get(shortcut="1"), project.themes.get(shortcut="2")

    ann_page, bob_page = new_page(), new_page()
    login(ann_page, live_server, ann.username, PASSWORD)
    login(bob_page, live_server, bob.username, PASSWORD)
    disputed = _code_first_blind(ann_page, live_server, project, "1")
    assert _code_first_blind(bob_page, live_server, project, "2") == disputed  # the same overlap item
    bob_page.screenshot(path=screenshots / "label-blind.png")
    # The item is coded twice: neither coder is served it again.
    for page in (ann_page, bob_page):
        expect(page.locator("#response-card")).not_to_have_attribute("data-response", str(disputed))

    before = training_run(project_id=project.pk, task_id="disputed")
    assert before.status == ModelVersion.Status.READY

    lead = new_page()
    login(lead, live_server, lea.username, PASSWORD)
    lead.goto(f"{live_server.url}/projects/{project.pk}/agreement/")
    row = lead.locator(f'#agreement-themes tr[data-theme="{first.pk}"]')
    expect(row).to_have_attribute("data-flag", "unreliable")
    expect(row.locator("td[data-alpha]")).to_have_text("0.000")
    expect(lead.locator('[data-figure="items"]')).to_have_text("1")
    lead.screenshot(path=screenshots / "agreement.png", full_page=True)
    row.get_by_role("link", name="1 to decide").click()
    card = lead.locator(f'.disagreement[data-response="{disputed}"]')
    expect(card.locator('tr[data-coder]')).to_have_count(2)
    expect(card).to_contain_text(first.name)
    expect(card).to_contain_text(second.name)
    lead.screenshot(path=screenshots / "disagreements.png", full_page=True)
    card.locator(f'input[name="theme"][value="{second.pk}"]').check()
    card.get_by_role("button", name="Resolve").click()
    expect(lead.locator(".messages")).to_contain_text("Resolved")
    expect(lead.locator("#no-disagreements")).to_be_visible()

    assert consensus_for_project(project=project).resolved[disputed] == {second.pk}
    after = training_run(project_id=project.pk, task_id="resolved")
    assert after.status == ModelVersion.Status.READY, after.error
    assert after.labelled_responses == before.labelled_responses + 1
    assert after.labels_used == before.labels_used + 1  # the lead's one theme, not the coders' union of two
