"""Blind double coding end to end: two analysts code the same item apart, the lead decides, the model learns it."""
import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import Adjudication
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.labeling.services.queue import queue_batch_lease
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from labeling_app.review.services.adjudication import overlap_configure
from tests.browser.conftest import login
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import ThemeFactory, UserFactory

pytestmark = pytest.mark.browser

WIDTHS = (1280, 800, 390)  # desktop, tablet, phone


def _screenshots(page, folder, name: str, *, full_page: bool = True) -> None:
    """Screenshots at each width for a person to look at; nothing may stick out sideways. (The Label page is
    taken as the window shows it: its action bar sticks to the window's bottom, mid-page on a whole-page one.)"""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=full_page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
    page.set_viewport_size({"width": 1280, "height": 900})


def _pick(card, theme):
    return card.locator(f'label.theme-pick[data-theme="{theme.pk}"]')


def _code_first_blind(page, live_server, project, keys: list[str]) -> int:
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
    for key in keys:
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
    first, second, third = (project.themes.get(shortcut=k) for k in "123")

    ann_page, bob_page = new_page(), new_page()
    login(ann_page, live_server, ann.username, PASSWORD)
    login(bob_page, live_server, bob.username, PASSWORD)
    # They agree on the third theme and differ on the first two.
    disputed = _code_first_blind(ann_page, live_server, project, ["1", "3"])
    assert _code_first_blind(bob_page, live_server, project, ["2", "3"]) == disputed  # the same overlap item
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
    # The themes a coder chose come first, the agreed one ticked already, each marked with who chose it.
    picks = card.locator("fieldset.picks label.theme-pick")
    contested = sorted([first, second], key=lambda t: (t.order, t.pk))
    expect(picks).to_have_count(3)
    assert [picks.nth(i).get_attribute("data-theme") for i in range(3)] == [str(t.pk) for t in [third, *contested]]
    expect(_pick(card, third).locator("input")).to_be_checked()
    for theme, coder in ((first, ann), (second, bob)):
        expect(_pick(card, theme).locator("input")).not_to_be_checked()
        expect(_pick(card, theme).locator(".coder-mark")).to_have_count(1)
        expect(_pick(card, theme).locator(".coder-mark")).to_have_attribute("title", f"chosen by {coder.username}")
    expect(_pick(card, first).locator(".coder-mark")).to_have_text("chosen by A")  # "A" shown; the rest is for AT
    expect(_pick(card, third).locator(".coder-mark")).to_have_count(2)
    others = card.locator("details.other-themes")
    expect(others).not_to_have_attribute("open", "")
    expect(others.locator("label.theme-pick")).to_have_count(project.themes.filter(archived=False).count() - 3)
    lead.screenshot(path=screenshots / "disagreements.png", full_page=True)

    # Nothing ticked: Resolve asks first, and dismissing it sends nothing.
    _pick(card, third).locator("input").uncheck()
    asked = []
    lead.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    lead.evaluate("window.stillHere = true")
    card.get_by_role("button", name="Resolve").click()
    expect(lead.locator("body")).to_be_visible()
    assert asked and "no theme" in asked[0]
    assert lead.evaluate("window.stillHere === true")  # the form was not sent
    assert not Adjudication.objects.filter(response_id=disputed).exists()
    expect(card).to_be_visible()

    card.locator(f'input[name="theme"][value="{second.pk}"]').check()
    card.get_by_role("button", name="Resolve").click()
    expect(lead.locator(".messages")).to_contain_text("Resolved")
    expect(lead.locator("#no-disagreements")).to_be_visible()

    assert consensus_for_project(project=project).resolved[disputed] == {second.pk}
    after = training_run(project_id=project.pk, task_id="resolved")
    assert after.status == ModelVersion.Status.READY, after.error
    assert after.labelled_responses == before.labelled_responses + 1
    assert after.labels_used == before.labels_used + 1  # the lead's one theme, not the coders' union of two


def test_a_sent_back_item_reaches_its_coders_with_the_leads_comment(live_server, demo_vectors, new_page, screenshots):
    ann, bob, lea = (UserFactory(username=n) for n in ("ann-recoder", "bob-recoder", "lea-reviewer"))
    project = demo_project_make({ann: Role.ANALYST, bob: Role.ANALYST, lea: Role.LEAD}, demo_vectors,
                                keep_labels=120)
    # A real-size codebook (the NHS demo has 45 themes): the card must stay readable.
    for i in range(45 - project.themes.count()):
        ThemeFactory(project=project, name=f"Codebook theme {i + 1:02d}", order=100 + i)
    overlap_configure(project=project, share=1.0, coders=2, participant_ids=[ann.pk, bob.pk])
    first, second, third = (project.themes.get(shortcut=k) for k in "123")
    # Both code the same overlap item apart (the test above does it in the page).
    disputed = queue_batch_lease(project=project, user=ann, size=1)[0].pk
    assert queue_batch_lease(project=project, user=bob, size=1)[0].pk == disputed
    annotation_submit(project=project, user=ann, items=[AnnotationItem(disputed, [first.pk, third.pk])])
    annotation_submit(project=project, user=bob, items=[AnnotationItem(disputed, [second.pk, third.pk])])

    lead = new_page()
    login(lead, live_server, lea.username, PASSWORD)
    lead.goto(f"{live_server.url}/projects/{project.pk}/disagreements/")
    card = lead.locator(f'.disagreement[data-response="{disputed}"]')
    expect(_pick(card, third).locator("input")).to_be_checked()
    expect(card.locator("details.other-themes label.theme-pick")).to_have_count(42)
    _screenshots(lead, screenshots, "disagreements")
    lead.set_viewport_size({"width": 390, "height": 900})
    card.locator("details.other-themes summary").click()  # all 45 on a phone
    expect(card.locator("details.other-themes label.theme-pick").last).to_be_visible()
    lead.screenshot(path=screenshots / "disagreements-other-themes-390.png", full_page=True)
    assert lead.evaluate("document.documentElement.scrollWidth") <= 390
    lead.set_viewport_size({"width": 1280, "height": 900})
    comment = "Read the codebook entry on value for money: it is about what they got, not the fee."
    card.locator('input[name="comment"]').fill(comment)
    card.get_by_role("button", name="Send back to coders").click()
    expect(lead.locator(".messages")).to_contain_text("Sent back")
    expect(lead.locator("#no-disagreements")).to_be_visible()

    coder = new_page()
    login(coder, live_server, ann.username, PASSWORD)
    coder.goto(f"{live_server.url}/projects/{project.pk}/label/")
    shown = coder.locator("#response-card")
    expect(coder.locator("#labeling")).to_have_attribute("data-state", "ready")
    for _ in range(project.labeling_batch_size):  # it comes back in the coder's queue
        if shown.get_attribute("data-response") == str(disputed):
            break
        expect(coder.locator("#review-note")).to_be_hidden()  # only on the item sent back
        coder.keyboard.press("Enter")
    expect(shown).to_have_attribute("data-response", str(disputed))
    note = coder.locator("#review-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(comment)
    expect(note).to_contain_text(f"Sent back by {lea.username}")
    # Still blind: the coder codes it again from scratch, seeing neither their old themes nor the other coder's.
    expect(coder.locator("#blind")).to_be_visible()
    expect(coder.locator('#theme-toggles button[aria-pressed="true"]')).to_have_count(0)
    expect(note).not_to_contain_text(second.name)
    _screenshots(coder, screenshots, "label-review-note", full_page=False)
    at_start = coder.locator("#batch-progress").inner_text().startswith("response 1 of")
    coder.keyboard.press("Enter" if at_start else "ArrowLeft")  # another item of the batch: no note there
    expect(shown).not_to_have_attribute("data-response", str(disputed))
    expect(note).to_be_hidden()

    # They code it again and still differ; the lead decides that no theme applies, and says so.
    annotation_submit(project=project, user=ann, items=[AnnotationItem(disputed, [first.pk])])
    annotation_submit(project=project, user=bob, items=[AnnotationItem(disputed, [])])
    lead.reload()
    card = lead.locator(f'.disagreement[data-response="{disputed}"]')
    expect(card.locator('input[name="theme"]:checked')).to_have_count(0)
    asked = []
    lead.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    card.get_by_role("button", name="Resolve").click()
    expect(lead.locator(".messages")).to_contain_text("Resolved to no theme")
    assert asked and "no theme" in asked[0]
    assert consensus_for_project(project=project).resolved[disputed] == frozenset()
