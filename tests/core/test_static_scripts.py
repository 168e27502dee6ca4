"""The page scripts share one request helper (static/themeloop/core/http.js, window.ThemeLoop.http): no other
script reads the CSRF cookie or writes the CSRF header itself, and every page that runs a script using the helper
loads it first (through core/base.html). No browser needed."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "labeling_app" / "static" / "themeloop"
TEMPLATES = ROOT / "labeling_app" / "templates"
HELPER = STATIC / "core" / "http.js"
BASE = TEMPLATES / "labeling_app" / "core" / "base.html"
# What a pasted copy of the helper carries: the cookie's name, the header's name, a cookie read.
CSRF_MARKS = re.compile(r"csrftoken|X-CSRFToken|document\.cookie", re.IGNORECASE)


def _scripts() -> list[Path]:
    return sorted(STATIC.rglob("*.js"))


def test_only_the_helper_reads_the_csrf_cookie_or_sets_the_header():
    assert HELPER in _scripts()
    assert CSRF_MARKS.search(HELPER.read_text())
    copies = [str(p.relative_to(STATIC)) for p in _scripts() if p != HELPER and CSRF_MARKS.search(p.read_text())]
    assert copies == [], f"use window.ThemeLoop.http (core/http.js) instead of a copy in {copies}"


def test_the_base_layout_loads_the_helper_before_any_page_script():
    base = BASE.read_text()
    tag = re.search(r"<script src=\"\{% static 'themeloop/core/http\.js' %\}\" defer></script>", base)
    assert tag, "core/base.html loads core/http.js (deferred, so it runs in document order with the page scripts)"
    assert tag.start() < base.index("{% block content %}")
    assert tag.start() < base.index("</head>")


def test_every_page_running_a_script_that_uses_the_helper_extends_the_base_layout():
    users = {str(p.relative_to(STATIC)) for p in _scripts() if p != HELPER and "ThemeLoop.http" in p.read_text()}
    assert users, "the page scripts use window.ThemeLoop.http"
    loaded = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for script in re.findall(r"\{% static 'themeloop/([^']+\.js)' %\}", text):
            if script in users:
                loaded.add(script)
                assert text.startswith('{% extends "labeling_app/core/base.html" %}'), (template, script)
    assert loaded == users, f"scripts no template loads: {users - loaded}"
