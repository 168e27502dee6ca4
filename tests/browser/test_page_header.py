"""Every page's header fits the window: one line of project pages (scrolling sideways when it must), the user's
links on screen, a long project name cut short; screenshots at 1280, 800 and 390 px."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 800, 390])
def test_the_admin_header_fits_the_window(live_server, prepare_project, new_page, screenshots, width):
    project = prepare_project.project
    project.name = "Why are you cancelling your subscription this quarter? (EMEA and APAC, all plans, wave 3)"
    project.save(update_fields=["name"])
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    login(page, live_server, "alice-admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/responses/")
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] <= 100, header  # was 138 px at 1280 and 387 px at 800
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing pushes the page sideways
    name = page.locator(".project-nav a.project-name").bounding_box()
    assert name is not None and name["height"] < 40  # one line, not five
    sign_out = page.get_by_role("button", name="Sign out").bounding_box()
    assert sign_out is not None and sign_out["x"] + sign_out["width"] <= width
    settings = page.locator(".project-nav a", has_text="Settings")
    settings.scroll_into_view_if_needed()
    expect(settings).to_be_in_viewport()
    page.screenshot(path=str(screenshots / f"header-admin-{width}.png"))
    settings.click()
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/settings/")
