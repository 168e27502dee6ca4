"""Every page of a project fits a laptop (1280 px), a small window (800 px) and a phone (390 px): nothing pushes
the page sideways (wide tables scroll inside their own box), the header stays short; screenshots of each page at
each width are kept in var/test-output/screenshots/widths/ for a person to look at."""
import pytest

from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from tests.browser.conftest import login
from tests.factories import ResponseFactory

pytestmark = pytest.mark.browser

PAGES = ["", "label/", "responses/", "clusters/", "map/", "suggestions/", "model/", "insights/", "agreement/",
         "disagreements/", "themes/", "members/", "settings/", "audit/", "similar/"]


@pytest.mark.parametrize("width", [1280, 800, 390])
def test_no_page_is_wider_than_the_window(live_server, prepare_project, new_page, screenshots, width):
    pp = prepare_project
    project = pp.project
    project.name = "Why are you cancelling your subscription? (all plans, wave 3)"
    project.save(update_fields=["name"])
    responses = ResponseFactory.create_batch(8, project=project, metadata={"plan": "Basic", "region": "North"})
    annotation_submit(project=project, user=pp.analyst,
                      items=[AnnotationItem(r.pk, [pp.themes[i % 2].pk]) for i, r in enumerate(responses)])
    folder = screenshots / "widths"
    folder.mkdir(exist_ok=True)
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "alice-admin")
    too_wide = {}
    for path in ["/projects/"] + [f"/projects/{project.pk}/{p}" for p in PAGES]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        wide = page.evaluate("document.documentElement.scrollWidth")
        header = page.locator("header.topbar").bounding_box()
        name = path.strip("/").replace("/", "-") or "root"
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        if wide > width or header is None or header["height"] > 100:
            too_wide[path] = (wide, header and round(header["height"]))
    assert not too_wide, f"pages wider than {width} px or with a tall header (scrollWidth, header height): {too_wide}"
