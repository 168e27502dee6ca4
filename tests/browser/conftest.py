"""Browser test helpers; the fixtures (browser, new_page, screenshots) are in tests/browser/fixtures.py, loaded
for the whole suite by the root conftest so one Chromium serves every folder."""
import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Screenshots the browser tests save for a person to look at (kept after the run, ignored by git).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-output" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def login(page, live_server, username, password="pw-for-tests-1"):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/projects/")


WIDTHS = (1280, 800, 390)


def screenshots_at_widths(page, folder, name: str, widths=WIDTHS) -> None:
    """Full-page screenshots `<name>-<width>.png` at each width (a person looks at them); fails where the page
    scrolls sideways. Leaves the page at 1280 px."""
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
    page.set_viewport_size({"width": 1280, "height": 900})
