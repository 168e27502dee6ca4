"""Response text is shown as text: markup in an answer never runs in the browser."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.factories import ResponseFactory

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    '"><svg onload="window.__pwned = 3">',
]


def test_markup_in_responses_is_escaped(live_server, prepare_project, new_page):
    for i, text in enumerate(PAYLOADS):
        ResponseFactory(project=prepare_project.project, respondent_id=f"X{i}", text=text,
                        metadata={"note": "<b>bold?</b>"})
    page = new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, live_server, "ana-analyst")
    page.goto(f"{live_server.url}/projects/{prepare_project.project.pk}/responses/?q=X")
    for text in PAYLOADS:
        expect(page.locator("#responses")).to_contain_text(text)
    expect(page.locator("#responses")).to_contain_text("<b>bold?</b>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#responses script, #responses img, #responses svg, #responses b").count() == 0
    assert dialogs == []
