"""Driving the review before a bulk write (static/themeloop/labeling/bulk-review.js) in browser tests."""
import numpy as np
from playwright.sync_api import Page, expect

from labeling_app.discovery.models import Cluster, ClusterAssignment, DiscoveryRun
from labeling_app.projects.models import Project, Response
from tests.browser.conftest import SCREENSHOTS

WIDTHS = (1280, 800, 390)


def untick(page: Page, response_id: int) -> None:
    """Untick one response in the open review (it must be on the page shown)."""
    box = page.locator(f"#br-list li[data-response='{response_id}'] input[type=checkbox]")
    box.uncheck()
    expect(box).not_to_be_checked()


def review_screenshots(page: Page, name: str) -> None:
    """The open review at 1280, 800 and 390 px wide, saved as bulk-review-<name>-<width>.png; at each width the
    dialog fits the window and its list, pager and confirm button are on screen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 500 else 900})
        page.evaluate("() => { document.getElementById('br-list').scrollTop = 0; }")
        dialog = page.locator("#bulk-review")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (width, box)
        for part in ("#br-confirm", "#br-cancel", "#br-list li >> nth=0", "#br-page"):
            expect(page.locator(part)).to_be_in_viewport()
        # No text is cut off sideways: the list scrolls only up and down.
        assert page.evaluate("() => { const l = document.getElementById('br-list'); "
                             "return l.scrollWidth <= l.clientWidth + 1; }"), width
        unticked = page.locator("#br-list li:has(input:not(:checked))")
        if unticked.count():  # the picture shows an unticked response
            unticked.first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"bulk-review-{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def small_run(project: Project, texts: list[str]) -> tuple[list[Response], Cluster]:
    """A finished discovery run laid out without clustering: the responses on a grid, in one cluster, in order."""
    made = Response.objects.bulk_create(Response(project=project, respondent_id=f"M{n:03d}", text=text)
                                        for n, text in enumerate(texts))
    side = max(2, int(np.ceil(np.sqrt(len(made)))))
    xy = np.asarray([[(n % side) / (side - 1), (n // side) / (side - 1)] for n in range(len(made))], dtype=np.float32)
    run = DiscoveryRun.objects.create(project=project, status=DiscoveryRun.Status.SUCCEEDED,
                                      response_ids=np.asarray([r.pk for r in made], dtype=np.int64).tobytes(),
                                      layout=xy.tobytes())
    cluster = Cluster.objects.create(run=run, name="Everything", size=len(made), representative_ids=[made[0].pk])
    ClusterAssignment.objects.bulk_create(ClusterAssignment(run=run, response=r, cluster=cluster) for r in made)
    return made, cluster
