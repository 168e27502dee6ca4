"""The map page: a legend, zoom (wheel, buttons, reset), colour by one chosen theme, box selection at any
zoom, and names and texts shown as text; on a project with 54 themes. Screenshots go to
var/test-output/screenshots/map-*.png."""
import pytest
from playwright.sync_api import expect

from labeling_app.discovery.models import DiscoveryRun
from labeling_app.discovery.services import discovery_layout_compute, discovery_run_execute
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.services.annotations import annotations_add_theme
from labeling_app.projects.models import Role
from labeling_app.themes.services.themes import theme_create
from tests.browser.conftest import SCREENSHOTS, login
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SHOTS = SCREENSHOTS
MARKUP = '<img src=x onerror="window.__pwned = 1">'


def _count_colour(page, hex_colour: str) -> int:
    """Canvas pixels within a small distance of a colour (points are drawn slightly transparent)."""
    return page.evaluate("""(hex) => {
        const want = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
        const c = document.getElementById('map'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 100 && Math.abs(d[i] - want[0]) + Math.abs(d[i + 1] - want[1]) + Math.abs(d[i + 2] - want[2]) < 24) n++;
        }
        return n; }""", hex_colour)


def _select_box(page, box, inset=8):
    # Inside the canvas's rounded corners, outside the 12-pixel margin where no point is drawn.
    page.mouse.move(box["x"] + inset, box["y"] + inset)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - inset, box["y"] + box["height"] - inset, steps=5)
    page.mouse.up()


def test_legend_zoom_and_colour_by_theme(live_server, demo_vectors, new_page):
    analyst = UserFactory(username="mia-analyst")
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    for n in range(1, 42):
        theme_create(project=project, name=f"Extra theme {n:02d}")
    odd = theme_create(project=project, name=MARKUP, colour="#7b2cbf")
    assert project.themes.filter(archived=False).count() == 54
    picked = list(project.responses.order_by("pk").values_list("pk", flat=True)[::10])
    annotations_add_theme(project=project, user=analyst, response_ids=picked, theme_id=odd.pk)
    run = DiscoveryRun.objects.create(project=project, n_clusters=8)
    assert discovery_run_execute(discovery_run_id=run.pk).status == DiscoveryRun.Status.SUCCEEDED
    assert discovery_layout_compute(discovery_run_id=run.pk).layout
    clusters = list(run.clusters.filter(active=True))
    named = next(c for c in clusters if not c.is_outliers)
    named.name = "<b>bold</b> cluster"
    named.save()
    total = project.responses.count()

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/map/")
    canvas = page.locator("#map")
    expect(canvas).to_have_attribute("data-ready", "true", timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # Legend by cluster: one entry per active cluster, sizes adding up to every response, names as text.
    legend = page.locator("#map-legend li")
    expect(legend).to_have_count(len(clusters))
    assert sum(int(legend.nth(i).get_attribute("data-count")) for i in range(len(clusters))) == total
    expect(page.locator(f"#map-legend li[data-cluster='{named.pk}']")).to_contain_text("<b>bold</b> cluster")
    assert page.locator("#map-legend b, #map-legend img").count() == 0
    page.screenshot(path=str(SHOTS / "map-clusters.png"), full_page=True)

    # Colour by one theme: its responses are highlighted in its colour, the legend counts them.
    assert page.locator("#colour-by option").count() == 1 + 54
    page.select_option("#colour-by", f"theme:{odd.pk}")
    having = Annotation.objects.filter(response__project=project, is_current=True, themes=odd) \
        .values("response").distinct().count()
    assert having == len(picked)
    expect(canvas).to_have_attribute("data-highlighted", str(having))
    expect(page.locator("#map-legend li[data-kind=has]")).to_have_attribute("data-count", str(having))
    expect(page.locator("#map-legend li[data-kind=has]")).to_contain_text(MARKUP)
    expect(page.locator("#map-legend li[data-kind=other]")).to_have_attribute("data-count", str(total - having))
    assert _count_colour(page, "#7b2cbf") > having * 4  # about 16 pixels a point, some overlapping
    page.select_option("#colour-by", "cluster")
    assert _count_colour(page, "#7b2cbf") == 0
    page.select_option("#colour-by", f"theme:{odd.pk}")
    page.screenshot(path=str(SHOTS / "map-theme.png"), full_page=True)

    # Hover: the text in the tip is text, never markup.
    painted = page.evaluate("""() => { const c = document.getElementById('map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) { const p = (i - 3) / 4; return [p % c.width, Math.floor(p / c.width)]; }
        return null; }""")
    box = canvas.bounding_box()
    scale = box["width"] / 900
    page.mouse.move(box["x"] + (painted[0] + 1) * scale, box["y"] + (painted[1] + 1) * scale)
    expect(page.locator("#map-tip")).to_be_visible()
    assert page.locator("#map-tip").inner_text().strip()
    assert page.locator("#map-tip *").count() == 0

    # A box over the whole canvas selects every point at the full view ...
    _select_box(page, box)
    expect(page.locator("#selection-count")).to_have_text(str(total))

    # ... and only the points in sight once zoomed in (wheel about the cursor, then the + button).
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    expect(canvas).to_have_attribute("data-scale", "1.5")
    page.click("#zoom-in")
    expect(canvas).to_have_attribute("data-scale", "2.25")
    _select_box(page, box)
    in_sight = int(page.locator("#selection-count").inner_text())
    assert 0 < in_sight < total
    page.screenshot(path=str(SHOTS / "map-zoom.png"), full_page=True)
    page.click("#zoom-out")
    expect(canvas).to_have_attribute("data-scale", "1.5")
    page.click("#zoom-reset")
    expect(canvas).to_have_attribute("data-scale", "1")
    _select_box(page, box)
    expect(page.locator("#selection-count")).to_have_text(str(total))
    assert page.evaluate("window.__pwned") is None


def test_the_map_waits_for_its_layout_and_says_why_when_it_failed(live_server, demo_vectors, new_page):
    analyst = UserFactory(username="lee-analyst")
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    run = DiscoveryRun.objects.create(project=project, n_clusters=8)
    assert discovery_run_execute(discovery_run_id=run.pk).status == DiscoveryRun.Status.SUCCEEDED

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/map/")
    expect(page.locator("#map-count")).to_have_text("laying out the map…")  # the layout job is still to run
    # A response deleted between the clustering and the layout: the layout job fails, saying why.
    project.responses.order_by("pk").first().delete()
    assert discovery_layout_compute(discovery_run_id=run.pk, task_id="t") is None
    expect(page.locator("#map-failed")).to_have_text(
        "The map could not be laid out: 1 of its responses have no embedding any more. Run discovery again to "
        "retry.", timeout=10_000)
    expect(page.locator("#map")).to_be_hidden()  # no empty canvas in its place
    assert page.locator("#map").get_attribute("data-ready") is None
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "map-layout-failed.png"), full_page=True)
    page.set_viewport_size({"width": 420, "height": 800})  # a phone-width window: the reason still reads whole
    expect(page.locator("#map-failed")).to_be_visible()
    page.screenshot(path=str(SHOTS / "map-layout-failed-narrow.png"), full_page=True)


def test_label_selected_reviews_the_selection_and_labels_only_the_ticked(live_server, new_page):
    from tests.browser.bulk_review import review_screenshots, small_run, untick
    from tests.factories import MembershipFactory, ProjectFactory

    analyst = UserFactory(username="max-analyst")
    project = ProjectFactory(name="Map review")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    positive = theme_create(project=project, name="Positive experience", colour="#2b8a3e")
    complaint_text = "The nurse was rude and nobody answered the bell for an hour"
    texts = [f"Lovely staff, thank you ({n})" for n in range(106)]
    texts[3] = complaint_text
    made, _ = small_run(project, texts)
    complaint, other = made[3], made[70]

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/map/")
    canvas = page.locator("#map")
    expect(canvas).to_have_attribute("data-ready", "true", timeout=30_000)
    _select_box(page, canvas.bounding_box())
    expect(page.locator("#selection-count")).to_have_text("106")
    expect(page.locator("#selection-label")).to_have_text("Review and label…")
    page.click("#selection-label")

    expect(page.locator("#bulk-review")).to_be_visible()
    expect(page.locator("#br-title")).to_have_text("Review the 106 selected responses before labelling")
    expect(page.locator("#br-confirm")).to_have_text("Label 106 responses with “Positive experience”")
    expect(page.locator("#br-list li")).to_have_count(50)
    untick(page, complaint.pk)
    page.click("#br-next")
    expect(page.locator("#br-page")).to_have_text("Page 2 of 3 · 51–100")
    untick(page, other.pk)
    page.click("#br-prev")  # the untick on page 1 is kept
    expect(page.locator(f"#br-list li[data-response='{complaint.pk}'] input")).not_to_be_checked()
    expect(page.locator("#br-confirm")).to_have_text("Label 104 responses with “Positive experience”")
    review_screenshots(page, "map")
    assert not Annotation.objects.exists()  # nothing is written before the confirm

    page.click("#br-confirm")
    expect(page.locator("#bulk-review")).to_be_hidden()
    expect(page.locator("#selection-status")).to_have_text("Labelled 104 with “Positive experience”.")
    labelled = set(Annotation.objects.filter(is_current=True, coder=analyst, themes=positive)
                   .values_list("response_id", flat=True))
    assert labelled == {r.pk for r in made} - {complaint.pk, other.pk}
    # The map shows exactly those as labelled.
    page.select_option("#colour-by", f"theme:{positive.pk}")
    expect(canvas).to_have_attribute("data-highlighted", "104")
