"""The browser fixtures, for the test that opens a page on the production server."""
from tests.browser.conftest import browser, new_page  # noqa: F401
