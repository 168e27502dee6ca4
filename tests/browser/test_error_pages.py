"""403, 404 and the API schema as a user sees them in the browser (screenshots in var/test-output/screenshots/)."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, login

pytestmark = pytest.mark.browser

SHOTS = SCREENSHOTS


def test_error_pages_and_schema_in_the_layout(live_server, prepare_project, new_page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page()
    login(page, live_server, "ana-analyst")
    project = prepare_project.project

    answer = page.goto(f"{live_server.url}/projects/{project.pk}/themes/")
    assert answer.status == 403
    expect(page.locator("#error-page h1")).to_have_text("You can’t open this page")
    expect(page.locator("#error-reason")).to_contain_text("needs the admin role in Cancellations")
    expect(page.locator(".project-nav")).to_contain_text("Label")  # still in the project, with its menu
    expect(page.locator(".project-nav")).not_to_contain_text("Theme set")
    page.screenshot(path=str(SHOTS / "error-403.png"))
    page.click("#error-page a:has-text('Cancellations')")
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/")

    other = prepare_project.outsider.memberships.get().project
    assert page.goto(f"{live_server.url}/projects/{other.pk}/").status == 404
    expect(page.locator("#error-page h1")).to_have_text("Page not found")
    expect(page.locator("#error-page")).not_to_contain_text("Other project")
    page.screenshot(path=str(SHOTS / "error-404.png"))

    assert page.goto(f"{live_server.url}/api/schema/").status == 200
    expect(page.locator("#schema")).to_contain_text("openapi: 3")
    page.screenshot(path=str(SHOTS / "api-schema.png"))
    page.click("a:has-text('Swagger UI')")
    expect(page.locator(".swagger-ui .title")).to_contain_text("ThemeLoop API", timeout=15_000)
    page.screenshot(path=str(SHOTS / "api-docs.png"))
