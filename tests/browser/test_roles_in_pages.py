import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_analyst_sees_only_their_project_and_no_admin_pages(live_server, prepare_project, new_page):
    page = new_page()
    login(page, live_server, "ana-analyst")
    expect(page.locator("#project-list")).to_contain_text("Cancellations")
    expect(page.locator("#project-list")).not_to_contain_text("Other project")
    page.click("text=Cancellations")
    expect(page.locator(".project-nav")).not_to_contain_text("Theme set")
    expect(page.locator("#import-form")).to_have_count(0)
    response = page.goto(f"{live_server.url}/projects/{prepare_project.project.pk}/themes/")
    assert response.status == 403
    other = prepare_project.outsider.memberships.get().project
    assert page.goto(f"{live_server.url}/projects/{other.pk}/").status == 404


def test_admin_edits_the_theme_set(live_server, prepare_project, new_page):
    page = new_page()
    login(page, live_server, "alice-admin")
    page.goto(f"{live_server.url}/projects/{prepare_project.project.pk}/themes/")
    page.fill("#new-theme input[name=new-name]", "Too much packaging")
    page.click("#new-theme button[value=create]")
    row = page.locator("tr[data-theme='Too much packaging']")
    expect(row).to_have_count(1)
    row.locator("button[value=archive]").click()
    expect(page.locator("tr[data-theme='Too much packaging']")).to_have_class("archived")
