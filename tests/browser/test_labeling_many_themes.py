"""The Label page with a real-size theme set (54, like a real import): filter by typing, a second key layer,
suggestions by each theme's threshold, re-opening a coded response to correct it."""

import pytest
from playwright.sync_api import expect

from labeling_app.labeling.models import Annotation
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.projects.models import Role
from labeling_app.themes.services.themes import SHORTCUT_KEYS
from tests.browser.conftest import SCREENSHOTS, login
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, ProjectFactory, ResponseFactory, ThemeFactory, UserFactory
from tests.model_versions import model_version_make

pytestmark = pytest.mark.browser


# 54 themes as a cancellation survey's import has them; the first len(SHORTCUT_KEYS) get single keys.
THEME_NAMES = [
    "Price too high", "Price increase", "Cheaper competitor", "Delivery delays", "Damaged delivery",
    "Missing items", "Wrong items", "Delivery window", "Courier behaviour", "Packaging waste",
    "Recipe variety", "Recipe difficulty", "Portion size", "Food quality", "Ingredient freshness",
    "Dietary needs", "Allergies", "Kids did not like it", "Cooking time", "Too much washing up",
    "Moving house", "Going on holiday", "Financial hardship", "Job loss", "Health reasons",
    "Pregnancy", "Eating out more", "Cooking less", "Shopping myself", "Supermarket meal kits",
    "Subscription model", "Hard to pause", "Hard to cancel", "Billing error", "Discount ended",
    "Voucher problems", "Customer service slow", "Customer service rude", "App crashes", "Website bugs",
    "Menu choice deadline", "Too many emails", "Marketing calls", "Data privacy", "Environmental concerns",
    "Plastic use", "Meat quality", "Vegetarian options", "Vegan options", "Spice levels",
    "Family size plan", "Single person plan", "Delayed refunds", "Other",
]


def _project_with_themes(analyst, n_responses=3):
    project = ProjectFactory(name="Cancellations, real size", labeling_batch_size=5)
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    themes = [ThemeFactory(project=project, name=name, order=i,
                           description=f"Use when the respondent mentions {name.lower()}.",
                           shortcut=SHORTCUT_KEYS[i] if i < len(SHORTCUT_KEYS) else "")
              for i, name in enumerate(THEME_NAMES)]
    responses = ResponseFactory.create_batch(n_responses, project=project)
    return project, themes, responses


def _toggle(page, theme):
    return page.locator(f'#theme-toggles button[data-theme="{theme.pk}"]')


def _unsaved(page) -> bool:
    return page.evaluate("""() => { const e = new Event('beforeunload', {cancelable: true});
                                    window.dispatchEvent(e); return e.defaultPrevented; }""")


def _in_viewport(page, selector) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_54_themes_filter_second_key_layer_and_submit(live_server, new_page):
    assert len(THEME_NAMES) == 54
    analyst = UserFactory(username="nina-analyst")
    project, themes, _ = _project_with_themes(analyst)
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    toggles = page.locator("#theme-toggles button")
    expect(toggles).to_have_count(54)

    # Every theme has a key, shown on its toggle, and no two share one.
    keys = {int(toggles.nth(i).get_attribute("data-theme")): toggles.nth(i).get_attribute("data-keys")
            for i in range(54)}
    assert all(keys.values()) and len(set(keys.values())) == 54
    for theme in themes:
        expect(_toggle(page, theme).locator("kbd")).to_have_text(keys[theme.pk].replace(" ", ""))
        if theme.shortcut:
            assert keys[theme.pk] == theme.shortcut
        else:
            prefix, second = keys[theme.pk].split(" ")
            assert prefix not in SHORTCUT_KEYS and second  # a second layer, not a clash with single keys

    response_id = int(page.locator("#response-card").get_attribute("data-response"))
    # Type to filter: "/" focuses the box; the name starting with the text comes first, Enter toggles it.
    page.keyboard.press("/")
    page.keyboard.type("delay")
    expect(toggles).to_have_count(2)  # "Delayed refunds", "Delivery delays"
    delayed = next(t for t in themes if t.name == "Delayed refunds")
    expect(_toggle(page, delayed)).to_have_class("toggle match")
    expect(page.locator("#theme-info-desc")).to_have_text("Use when the respondent mentions delayed refunds.")
    page.keyboard.press("Enter")
    expect(toggles).to_have_count(54)  # the filter is cleared
    expect(_toggle(page, delayed)).to_have_attribute("aria-pressed", "true")
    # Escape clears a filter without toggling anything.
    page.keyboard.press("/")
    page.keyboard.type("vegan")
    expect(toggles).to_have_count(1)
    page.keyboard.press("Escape")
    expect(toggles).to_have_count(54)

    # A theme reached only through the second layer: its prefix key, then its key.
    layered = themes[45]  # "Plastic use", past the single keys
    assert not layered.shortcut
    for key in keys[layered.pk].split(" "):
        page.keyboard.press(key)
    expect(_toggle(page, layered)).to_have_attribute("aria-pressed", "true")
    # A single key, and one pressed twice (on, then off again).
    single, twice = themes[SHORTCUT_KEYS.index("q")], themes[SHORTCUT_KEYS.index("3")]
    for key in ("q", "3", "3"):
        page.keyboard.press(key)
    expect(_toggle(page, single)).to_have_attribute("aria-pressed", "true")
    expect(_toggle(page, twice)).to_have_attribute("aria-pressed", "false")
    assert _unsaved(page)  # leaving now would lose labels: the page asks first

    # The action bar stays in view with the whole theme list on the page, wide and narrow.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _toggle(page, themes[-1]).scroll_into_view_if_needed()
    assert _in_viewport(page, "#btn-submit")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "label-54-themes.png"))
    page.set_viewport_size({"width": 800, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    assert _in_viewport(page, "#btn-submit")
    page.screenshot(path=str(SCREENSHOTS / "label-54-themes-800.png"))
    _toggle(page, themes[-1]).scroll_into_view_if_needed()
    assert _in_viewport(page, "#btn-submit") and _in_viewport(page, f'#theme-toggles button[data-theme="{themes[-1].pk}"]')
    page.screenshot(path=str(SCREENSHOTS / "label-54-themes-800-scrolled.png"))

    page.keyboard.press("Shift+Enter")
    expect(page.locator("#status-line")).to_contain_text("Saved 1")
    annotation = analyst.annotations.get(response_id=response_id, is_current=True)
    assert set(annotation.themes.values_list("pk", flat=True)) == {delayed.pk, layered.pk, single.pk}
    expect(page.locator("#response-card")).not_to_have_attribute("data-response", str(response_id))
    assert not _unsaved(page)  # the next batch starts clean


def test_reopen_a_flagged_response_from_responses_page_and_correct_it(live_server, new_page):
    analyst = UserFactory(username="rita-analyst")
    project, themes, responses = _project_with_themes(analyst, n_responses=4)
    first, plain = responses[0], responses[1]
    a, b, c = themes[0], themes[40], themes[7]
    [old] = annotation_submit(project=project, user=analyst, items=[AnnotationItem(first.pk, [a.pk, b.pk], flagged=True)])
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(plain.pk, [c.pk])])

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/responses/")
    expect(page.locator("#responses tbody tr")).to_have_count(4)
    page.check("input[name=flagged]")
    page.click("#response-filters button[type=submit]")
    rows = page.locator("#responses tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-response", str(first.pk))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "responses-flagged.png"))
    rows.first.locator("a.correct").click()

    page.wait_for_url(f"**/projects/{project.pk}/label/?response={first.pk}")
    expect(page.locator("#response-card")).to_have_attribute("data-response", str(first.pk))
    expect(page.locator("#reopen-note")).to_be_visible()
    expect(page.locator("#flag")).to_be_visible()
    for theme, pressed in ((a, "true"), (b, "true"), (c, "false")):
        expect(_toggle(page, theme)).to_have_attribute("aria-pressed", pressed)
    assert not _unsaved(page)  # nothing changed yet
    page.screenshot(path=str(SCREENSHOTS / "label-54-themes-reopened.png"))
    # Correct it: b off (its second-layer key), c on (filtering), and the flag off.
    for key in _toggle(page, b).get_attribute("data-keys").split(" "):
        page.keyboard.press(key)
    page.keyboard.press("/")
    page.keyboard.type("delivery win")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+F")
    expect(page.locator("#flag")).to_be_hidden()
    assert _unsaved(page)
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#status-line")).to_contain_text("Saved your correction")
    expect(page.locator("#status-line a")).to_have_attribute("href", f"/projects/{project.pk}/responses/")

    current = analyst.annotations.get(response_id=first.pk, is_current=True)
    assert set(current.themes.values_list("pk", flat=True)) == {a.pk, c.pk}
    assert current.flagged is False
    assert current.supersedes_id == old.pk
    assert not Annotation.objects.get(pk=old.pk).is_current
    # The page carries on with the queue: the corrected and the coded responses are not served again.
    expect(page.locator("#response-card")).not_to_have_attribute("data-response", str(first.pk))
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    served = int(page.locator("#response-card").get_attribute("data-response"))
    assert served in {responses[2].pk, responses[3].pk}
    assert page.url.endswith(f"/projects/{project.pk}/label/")


def test_accept_suggestions_follows_each_theme_threshold(live_server, new_page):
    analyst = UserFactory(username="tom-analyst")
    project, themes, responses = _project_with_themes(analyst, n_responses=1)
    [response] = responses
    # Four themes with a probability; each theme's own threshold decides, not 0.5.
    low, high, mid, other = themes[0], themes[1], themes[50], themes[3]
    model_version_make(project=project, theme_ids=[low.pk, high.pk, mid.pk, other.pk],
                       thresholds=[0.2, 0.8, 0.35, 0.5], probabilities={response.pk: [0.3, 0.65, 0.4, 0.45]})
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    for theme, suggested in ((low, True), (high, False), (mid, True), (other, False)):
        toggle = _toggle(page, theme)
        expect(toggle).to_have_class("toggle suggested" if suggested else "toggle")
    # Each probability shows its theme's own threshold, and one visible line says what that means: 30% is
    # suggested while 65% is not, and Space takes exactly the highlighted ones.
    expect(_toggle(page, high).locator(".prob")).to_have_text("65% < 80%")
    expect(_toggle(page, low).locator(".prob")).to_have_text("30% ≥ 20%")
    legend = page.locator("#suggest-legend")
    expect(legend).to_be_visible()
    expect(legend).to_contain_text("Each theme has its own threshold")
    expect(legend).to_contain_text("Space accepts the highlighted themes")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "label-54-themes-suggestions.png"))
    # Sorting by probability puts the most likely themes first; the keys stay with their themes.
    page.check("#sort-prob")
    first_four = [int(page.locator("#theme-toggles button").nth(i).get_attribute("data-theme")) for i in range(4)]
    assert first_four == [high.pk, other.pk, mid.pk, low.pk]
    page.keyboard.press("Space")
    for theme, pressed in ((low, "true"), (high, "false"), (mid, "true"), (other, "false")):
        expect(_toggle(page, theme)).to_have_attribute("aria-pressed", pressed)
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#status-line")).to_contain_text("Saved 1")
    annotation = analyst.annotations.get(response_id=response.pk, is_current=True)
    assert set(annotation.themes.values_list("pk", flat=True)) == {low.pk, mid.pk}
