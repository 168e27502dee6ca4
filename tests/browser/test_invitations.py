"""The invitation round trip in a browser: an admin invites on the Members page, the invitee accepts on their
projects page and lands in the project."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_admin_invites_and_the_invitee_accepts(live_server, prepare_project, new_page):
    project = prepare_project.project
    admin = new_page()
    login(admin, live_server, "alice-admin")
    admin.goto(f"{live_server.url}/projects/{project.pk}/members/")
    admin.fill("#invite-form input[name=username]", "oscar-outsider")
    admin.select_option("#invite-form select[name=role]", "lead")
    admin.click("#invite-form button[value=invite]")
    expect(admin.locator(".messages")).to_contain_text("oscar-outsider: invitation sent if the user exists.")
    expect(admin.locator("#invitations")).to_contain_text("oscar-outsider")
    expect(admin.locator("#members")).not_to_contain_text("oscar-outsider")

    invitee = new_page()
    login(invitee, live_server, "oscar-outsider")
    expect(invitee.locator("#project-list")).not_to_contain_text("Cancellations")  # not a member yet
    expect(invitee.locator("#invitations")).to_contain_text("Cancellations")
    invitee.click("#invitations button[value=accept]")
    invitee.wait_for_url(f"{live_server.url}/projects/{project.pk}/")
    expect(invitee.locator(".messages")).to_contain_text("You joined Cancellations as Lead.")

    admin.reload()
    expect(admin.locator("#members")).to_contain_text("oscar-outsider")
    expect(admin.locator("#invitations")).to_have_count(0)
