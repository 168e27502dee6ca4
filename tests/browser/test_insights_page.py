"""The Insights dashboard on the NHS FFT project: charts draw under the page's CSP (no unsafe-eval), a metadata
filter narrows every view, and clicking a distinguishing term lists its responses with the term highlighted."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from labeling_app.projects.models import Role
from tests.browser.conftest import login
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.browser
PASSWORD = "pw-for-tests-1"
VIEWS = ["prevalence", "segments", "terms", "drivers", "cooccurrence", "combinations", "trends"]


def _drawn(page, view: str) -> None:
    chart = page.locator(f'.chart[data-view="{view}"]')
    expect(chart).to_have_attribute("data-state", "drawn", timeout=60_000)
    expect(chart.locator("svg").first).to_be_visible()


def _respondents(page) -> int:
    title = page.locator('.chart[data-view="prevalence"] svg').first.text_content() or ""
    return int(re.search(r"Prevalence \((\d+) respondents\)", title).group(1))


def _chart_files_and_exports_carry_the_filters(page, live_server, project) -> None:
    """PNG/SVG links under the charts and the export links hold the page's filters, and download with its session."""
    png = page.locator('.chart-files[data-files="prevalence"] a[data-fmt="png"]')
    expect(png).to_be_visible()
    href = png.get_attribute("href")
    assert href.startswith(f"/api/projects/{project.pk}/insights/charts/prevalence.png?"), href
    assert "meta=organisation%3ANEAS" in href and "date_field=date" in href
    image = page.request.get(live_server.url + href)
    assert image.status == 200 and image.body().startswith(b"\x89PNG\r\n\x1a\n")
    svg = page.locator('.chart-files[data-files="segments"] a[data-fmt="svg"]').get_attribute("href")
    assert "segment=service" in svg and "meta=organisation%3ANEAS" in svg
    drawn = page.request.get(live_server.url + svg)
    assert drawn.status == 200 and "<svg" in drawn.text()
    wide = page.locator('#export-links a[data-format="csv-wide"]').get_attribute("href")
    assert "meta=organisation%3ANEAS" in wide and "segment=service" in wide and "source=human" in wide
    rows = list(csv.DictReader(io.StringIO(page.request.get(live_server.url + wide).text())))
    assert rows and {r["organisation"] for r in rows} == {"NEAS"}
    # The PDF is asked of a worker by a form (tests/browser/test_report_page.py): its fields hold the same filters.
    fields = page.locator("#report-form [data-report-params] input[type=hidden]")
    report = {fields.nth(i).get_attribute("name"): fields.nth(i).get_attribute("value") for i in range(fields.count())}
    assert report["meta"] == "organisation:NEAS" and report["segment"] == "service" and report["source"] == "human"
    assert report["date_field"] == "date" and "format" not in report


def test_insights_dashboard_on_nhs(live_server, nhs_file, new_page, screenshots):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling_app.importing.services import import_file_run

    analyst = UserFactory(username="ins-analyst")
    project = ProjectFactory(name="NHS insights")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("nhs.csv", nhs_file.read_bytes()))

    page = new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/insights/")
    expect(page.locator("nav.project-nav").get_by_role("link", name="Insights", exact=True)).to_have_class(
        re.compile("active"))
    expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=90_000)
    _drawn(page, "prevalence")
    everyone = _respondents(page)
    assert everyone > 1000
    page.locator("#view-prevalence").screenshot(path=screenshots / "insights-prevalence.png")

    # Filter by one organisation: every view is recomputed on fewer respondents.
    page.select_option("#f-meta-key", "organisation")
    page.select_option("#f-meta-value", "NEAS")
    page.select_option("#f-date-field", "date")
    page.locator("#insights-filters button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=90_000)
    for view in VIEWS:
        _drawn(page, view)
    assert 0 < _respondents(page) < everyone

    page.select_option("#segment-column", "service")
    _drawn(page, "segments")
    _chart_files_and_exports_carry_the_filters(page, live_server, project)
    for section in ["segments", "terms", "drivers", "cooccurrence", "trends", "quotes", "export"]:
        page.locator(f"#view-{section}").screenshot(path=screenshots / f"insights-{section}.png")
    page.screenshot(path=screenshots / "insights-page.png", full_page=True)

    # A distinguishing term of a theme NEAS respondents raise: its responses appear with the term in <mark>.
    page.select_option("#terms-theme", label="Positive experience & gratitude")
    _drawn(page, "terms")
    expect(page.locator("#term-list li").first).not_to_contain_text(" 0 in", timeout=30_000)
    term = page.locator("#term-list button.term").first
    expect(term).to_be_visible()
    word = term.inner_text()
    term.click()
    expect(page.locator("#term-responses h3")).to_be_visible(timeout=30_000)
    marks = page.locator("#term-responses mark")
    expect(marks.first).to_be_visible(timeout=30_000)
    assert all(m.lower() == word.lower() for m in marks.all_inner_texts()[:20])
    assert page.locator("#term-responses .term-context").count() > 0
    page.locator("#view-terms").screenshot(path=screenshots / "insights-term-responses.png")

    # Pinning a quote is the page's one write (POST with the CSRF header from core/http.js): it saves, the
    # quotes reload with it pinned, and unpinning takes it back.
    from labeling_app.insights.models import QuotePin

    assert page.locator("#quotes li.quote.pinned").count() == 0
    page.locator("#quotes details[open] li.quote").get_by_role("button", name="Pin", exact=True).first.click()
    expect(page.locator("#quotes li.quote.pinned")).to_have_count(1, timeout=30_000)
    assert QuotePin.objects.filter(project=project).count() == 1
    page.locator("#quotes li.quote.pinned").get_by_role("button", name="Unpin", exact=True).click()
    expect(page.locator("#quotes li.quote.pinned")).to_have_count(0, timeout=30_000)
    assert not QuotePin.objects.filter(project=project).exists()
    expect(page.locator("#insights-error")).to_have_text("")

    # Vega ran with its interpreter: nothing was refused by script-src 'self'.
    assert not [e for e in csp_errors if "Content Security Policy" in e or "unsafe-eval" in e], csp_errors


def test_insights_defaults_on_nhs_fit_the_page_at_three_widths(live_server, nhs_file, new_page, screenshots):
    """Segments open on a few-valued column (not the 23-month date), trends on the commonest themes with their
    base n (small months shaded, off the lines), the picker adds a theme; the page fits at 1280, 800 and 390 px."""
    import pandas as pd
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling_app.importing.services import import_file_run

    analyst = UserFactory(username="ins-widths")
    project = ProjectFactory(name="NHS insights widths")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("nhs.csv", nhs_file.read_bytes()))
    frame = pd.read_csv(nhs_file, dtype=str, keep_default_na=False)
    commonest = list(frame.drop_duplicates(["respondent_id", "theme"])["theme"].value_counts().index[:8])

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/insights/")
    expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=90_000)
    for view in VIEWS:  # trends too: over the project's date column without choosing one
        _drawn(page, view)

    segment = page.locator("#segment-column").input_value()
    assert segment and segment != "date", segment
    assert page.locator('#segment-column option[value="date"]').inner_text() == "date (23 months)"
    segments_height = page.locator('.chart[data-view="segments"] svg').first.bounding_box()["height"]
    assert segments_height < 1500, segments_height

    def legend() -> list[str]:
        return page.locator('.chart[data-view="trends"] .role-legend-label text').all_text_contents()

    bases = ["n ≥ 30", "n < 30: left off"]
    assert sorted(legend()) == sorted(commonest + bases)
    ticked = page.locator("#trends-themes input:checked")
    assert ticked.count() == 8
    # Pick one more theme: the chart redraws with it, in a ninth colour.
    page.locator("#trends-pick summary").click()
    extra = page.locator("#trends-themes label", has_not=page.locator("input:checked")).first
    name = extra.inner_text().strip()
    extra.locator("input").check()
    expect(page.locator('.chart[data-view="trends"] .role-legend-label text', has_text=name)).to_have_count(
        1, timeout=30_000)
    assert sorted(legend()) == sorted([*commonest, name, *bases])
    assert name not in commonest
    page.locator("#trends-commonest").click()
    expect(page.locator('.chart[data-view="trends"] .role-legend-label text', has_text=name)).to_have_count(
        0, timeout=30_000)
    page.locator("#trends-pick summary").click()
    page.locator("#view-trends").screenshot(path=screenshots / "insights-trends-default.png")
    page.locator("#view-terms").screenshot(path=screenshots / "insights-terms-labelled.png")

    for width in (1280, 800, 390):
        # Loaded at this width: the charts are drawn for the room their card has.
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-insights", "ready", timeout=90_000)
        for view in VIEWS:
            _drawn(page, view)
        height = page.evaluate("document.documentElement.scrollHeight")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=screenshots / f"insights-nhs-{width}.png", full_page=True)
        wide = page.evaluate("""Array.from(document.querySelectorAll('body *')).filter(e =>
            e.getBoundingClientRect().right > window.innerWidth + 1 && !e.parentElement.closest('.chart, nav'))
            .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ':' +
                             Math.round(e.getBoundingClientRect().right))""")
        assert overflow <= 0, (width, overflow, wide)  # nothing runs off the page
        # The date segments alone once made a 17,500 px page; NHS codes sentiment too, whose section adds ~1,000 px.
        assert height < 13_000, (width, height)
        # The views of the brief fit their card whole (the theme-by-theme matrices may scroll inside theirs).
        for view in ["prevalence", "segments", "terms", "drivers", "trends"]:
            spill = page.evaluate(f"""(() => {{ const c = document.querySelector('.chart[data-view="{view}"]');
                return c.scrollWidth - c.clientWidth; }})()""")
            assert spill <= 1, (width, view, spill)
