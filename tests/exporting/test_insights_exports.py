"""XLSX sheets per insights view and the client report: figures checked against counts made here from the source
file, label source stated, every text cell neutralised, every text escaped."""
import csv
import io
import math
import re
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from labeling_app.exporting.services import (
    ExportOptions,
    long_csv_export,
    report_html_render,
    wide_csv_export,
    xlsx_export,
)
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope, insights_scope_from_params, prevalence
from labeling_app.insights.services.quotes import quote_pin
from labeling_app.projects.models import Project
from labeling_app.themes.models import Theme
from tests.factories import UserFactory
from tests.model_versions import model_version_make

HOSTILE = "<img src=x onerror=alert(1)>"
# (respondent, text, themes, plan, score, day): a category, a numeric and a date column; formula-like text in
# themes, responses and metadata.
ROWS = [
    ("S1", "Far too expensive for what you get", ["Price"], "Basic", 1, "2024-01-05"),
    ("S2", "Expensive boxes and expensive delivery", ["Price", "Delivery"], "Basic", 2, "2024-01-12"),
    ("S3", "The price went up again, too expensive", ["Price"], "Family", 1, "2024-02-03"),
    ("S4", "Box arrived late and damaged", ["Delivery"], "Family", 3, "2024-02-10"),
    ("S5", "Late delivery every week", ["Delivery"], "Family", 2, "2024-02-17"),
    ("S6", "Courier left the box outside, late again", ["Delivery"], "Basic", 3, "2024-03-01"),
    ("S7", "Lovely recipes, loved the recipes", ["Recipes"], "Basic", 5, "2024-03-05"),
    ("S8", "Recipes were great but I am moving", ["Recipes", "Moving"], "Family", 4, "2024-03-20"),
    ("S9", "Moving abroad next month", ["Moving"], "=cmd|' /C calc'!A0", 4, "2024-03-22"),
    ("S10", "@team the recipes got boring", ["+Boring menu"], "Family", 2, "2024-01-20"),
    ("S11", "Nothing to add", [], "Basic", 3, "2024-02-25"),
    ("S12", "The app kept crashing", ["App"], "Basic", 3, "2024-03-30"),
]
Z = 1.959963984540054


def _source() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["respondent_id", "response", "theme", "plan", "score", "day"])
    for rid, text, themes, plan, score, day in ROWS:
        for theme in themes or [""]:
            writer.writerow([rid, text, theme, plan, score, day])
    return out.getvalue().encode()


@pytest.fixture
def project(db) -> Project:
    project = Project.objects.create(name="Insights export", question="Why did you cancel?")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("s.csv", _source()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    return project


def _wilson(c: int, n: int) -> tuple[float, float]:
    p = c / n
    centre, half = p + Z * Z / (2 * n), Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def _sheet(book, name) -> list[dict]:
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _pin(project: Project, respondent: str, theme: str) -> None:
    quote_pin(project=project, user=UserFactory(), theme_id=Theme.objects.get(project=project, name=theme).pk,
              response_id=project.responses.get(respondent_id=respondent).pk)


@pytest.mark.django_db
def test_xlsx_has_a_sheet_per_view_with_figures_counted_independently(project):
    _pin(project, "S6", "Delivery")
    book = load_workbook(io.BytesIO(xlsx_export(InsightsScope(project=project), ExportOptions(segment="plan"))))
    assert book.sheetnames == ["responses", "labels", "prevalence", "segments", "differences", "terms", "drivers",
                               "cooccurrence", "combinations", "trends", "quotes", "about"]
    coded = [r for r in ROWS if r[2]]
    n = len(coded)
    counts = Counter(t for r in coded for t in r[2])

    # Prevalence: counts and shares from the source file, intervals from the Wilson formula, same as the selector.
    sheet = {r["theme"]: r for r in _sheet(book, "prevalence")}
    neutral = {"'+Boring menu" if k == "+Boring menu" else k: v for k, v in counts.items()}
    assert {k: v["respondents"] for k, v in sheet.items()} == neutral
    assert {v["base"] for v in sheet.values()} == {n}
    for name, row in sheet.items():
        low, high = _wilson(row["respondents"], n)
        assert row["share"] == pytest.approx(row["respondents"] / n, abs=1e-6)
        assert (round(row["ci_low"], 3), round(row["ci_high"], 3)) == (round(low, 3), round(high, 3)), name
    selector = prevalence(scope=InsightsScope(project=project))
    assert [(t["count"], t["ci_low"]) for t in selector["themes"]] == [
        (r["respondents"], r["ci_low"]) for r in _sheet(book, "prevalence")]

    # Segments by plan: Price is 2 of the 6 coded Basic respondents.
    basic = [r for r in coded if r[3] == "Basic"]
    seg = {(r["segment"], r["theme"]): r for r in _sheet(book, "segments")}
    assert seg[("Basic", "Price")]["respondents"] == 2 and seg[("Basic", "Price")]["base"] == len(basic)
    assert ("'=cmd|' /C calc'!A0", "Moving") in seg  # a formula-like segment value, neutralised
    assert {r["significant"] for r in _sheet(book, "differences")} <= {"yes", "no"}

    # Distinguishing words of the top themes: "expensive" is said 4 times by Price respondents, never by others.
    terms = [r for r in _sheet(book, "terms") if r["theme"] == "Price"]
    expensive = next(r for r in terms if r["term"] == "expensive")
    assert (expensive["count_in"], expensive["count_out"]) == (4, 0) and expensive["z"] > 0
    assert {r["theme"] for r in _sheet(book, "terms")} <= set(neutral)

    # Drivers of score: the mean with and without Price, over coded respondents.
    price = next(r for r in _sheet(book, "drivers") if r["score"] == "score" and r["theme"] == "Price")
    with_price = [r[4] for r in coded if "Price" in r[2]]
    without = [r[4] for r in coded if "Price" not in r[2]]
    assert price["mean_with"] == pytest.approx(sum(with_price) / len(with_price), abs=1e-6)
    assert price["mean_without"] == pytest.approx(sum(without) / len(without), abs=1e-6)
    assert price["impact_ci_low"] <= price["impact"] <= price["impact_ci_high"]

    # Co-occurrence: Price and Delivery together once (S2); lift = both * n / (count_a * count_b).
    pair = next(r for r in _sheet(book, "cooccurrence") if {r["theme_a"], r["theme_b"]} == {"Price", "Delivery"})
    assert pair["both"] == 1
    assert pair["lift"] == pytest.approx(n / (counts["Price"] * counts["Delivery"]), abs=1e-6)
    combos = {r["themes"]: r["respondents"] for r in _sheet(book, "combinations")}
    assert (combos["Delivery"], combos["Price"], combos["Price + Delivery"]) == (3, 2, 1)

    # Trends over the only date column, by month.
    january = [r for r in coded if r[5].startswith("2024-01")]
    jan_price = next(r for r in _sheet(book, "trends") if r["month"] == "2024-01" and r["theme"] == "Price")
    assert (jan_price["respondents"], jan_price["base"]) == (2, len(january))

    # Quotes: the pinned one first for its theme.
    delivery = [r for r in _sheet(book, "quotes") if r["theme"] == "Delivery"]
    assert (delivery[0]["kind"], delivery[0]["respondent_id"]) == ("pinned", "S6")
    assert all(r["kind"] == "representative" for r in delivery[1:])

    about = {r["field"]: r["value"] for r in _sheet(book, "about")}
    assert about["label source"] == "resolved human labels" and about["respondents with labels"] == n


@pytest.mark.django_db
def test_every_text_cell_of_every_sheet_is_neutralised(project):
    book = load_workbook(io.BytesIO(xlsx_export(InsightsScope(project=project), ExportOptions(segment="plan"))))
    cells = {name: [c for row in book[name].iter_rows(values_only=True) for c in row if isinstance(c, str)]
             for name in book.sheetnames}
    for name, texts in cells.items():
        assert not [c for c in texts if re.match(r"[=+\-@\t\r]", c)], name
    for name in ("prevalence", "segments", "cooccurrence", "drivers", "terms", "quotes"):
        assert "'+Boring menu" in cells[name], name
    assert "'@team the recipes got boring" in cells["quotes"]


@pytest.mark.django_db
def test_control_characters_a_workbook_cannot_hold_become_spaces_in_xlsx_only(project):
    # Seen in the NHS data: a vertical tab pasted into an answer made openpyxl refuse the whole workbook.
    project.responses.filter(respondent_id="S11").update(text="Line one\x0bline two")
    book = load_workbook(io.BytesIO(xlsx_export(InsightsScope(project=project))))
    assert next(r for r in _sheet(book, "responses") if r["respondent_id"] == "S11")["response"] == "Line one line two"
    assert "Line one\x0bline two" in long_csv_export(InsightsScope(project=project)).decode()


@pytest.mark.django_db
def test_model_source_adds_the_estimates_and_says_so(project):
    themes = list(Theme.objects.filter(project=project).order_by("order", "id"))
    uncoded = project.responses.get(respondent_id="S11")
    model_version_make(project=project, theme_ids=[t.pk for t in themes], thresholds=[0.5] * len(themes),
                       probabilities={uncoded.pk: [0.9 if t.name == "Price" else 0.1 for t in themes]}, number=3)
    human = list(csv.DictReader(io.StringIO(wide_csv_export(InsightsScope(project=project)).decode())))
    assert "label_source" not in human[0]  # the default export is as it always was
    scope = insights_scope_from_params(project=project, params={"source": "model"})
    rows = {r["respondent_id"]: r for r in csv.DictReader(io.StringIO(wide_csv_export(scope).decode()))}
    assert (rows["S11"]["Price"], rows["S11"]["label_source"]) == ("1", "model")
    assert (rows["S1"]["Price"], rows["S1"]["label_source"]) == ("1", "human")

    book = load_workbook(io.BytesIO(xlsx_export(scope)))
    price = next(r for r in _sheet(book, "prevalence") if r["theme"] == "Price")
    assert (price["respondents"], price["base"]) == (4, 12)
    about = {r["field"]: r["value"] for r in _sheet(book, "about")}
    assert (about["model version"], about["of them model estimates"]) == (3, 1)

    page = report_html_render(scope).decode()
    assert ("Current model: version 3, micro F1 0.500, trained on 10 coded responses; 1 of the 12 respondents "
            "counted are model estimates") in page
    assert "model version 3 estimates for 1 respondent no human resolved" in page


@pytest.mark.django_db
def test_report_shows_words_pinned_quotes_segments_and_drivers(project):
    _pin(project, "S6", "Delivery")
    page = report_html_render(InsightsScope(project=project)).decode()
    assert "Why did you cancel?" in page and "Label source: resolved human labels." in page
    assert "11 respondents with resolved themes, of 12 responses" in page
    assert re.search(r"<li>expensive <span class=\"z\">z \d", page)  # Price's distinguishing word with its z
    # Delivery's block: the pinned quote first, then representative ones.
    block = page[page.index("<h3>Delivery "):].split("</div>", 1)[0]
    quotes = re.findall(r"<blockquote[^>]*>", block)
    assert quotes[0] == '<blockquote class="pinned">' and len(quotes) == 3
    assert '<blockquote class="pinned">Courier left the box outside, late again' in block
    # No segment named: the first category column with 2-8 values (plan), with its chart and differences.
    assert '<section id="segments">' in page and "<h2>By plan</h2>" in page
    assert "Significant differences" in page
    assert '<section id="drivers">' in page and "What drives score" in page
    assert page.count("data:image/png;base64,iVBOR") == 3  # prevalence, segments, drivers


@pytest.mark.django_db
def test_report_escapes_theme_names_and_responses(project):
    # The importer refuses markup, so the hostile text is written as a rename or an older import could leave it.
    Theme.objects.filter(project=project, name="App").update(name=HOSTILE)
    project.responses.filter(respondent_id="S12").update(text=HOSTILE)
    _pin(project, "S12", HOSTILE)
    page = report_html_render(InsightsScope(project=project)).decode()
    assert HOSTILE not in page and "onerror=alert(1)>" not in page
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    assert f"<td>{escaped}</td>" in page  # the theme name in the table
    assert f'<blockquote class="pinned">{escaped}' in page  # the response as a quote


@pytest.mark.django_db
def test_rows_follow_the_same_filters_as_the_insights_views(project):
    params = {"meta": ["plan:Family"], "date_field": "day", "date_from": "2024-02-01", "date_to": "2024-03-31"}
    scope = insights_scope_from_params(project=project, params=params)
    rows = list(csv.DictReader(io.StringIO(wide_csv_export(scope).decode())))
    expected = [r[0] for r in ROWS if r[3] == "Family" and "2024-02-01" <= r[5] <= "2024-03-31"]
    assert [r["respondent_id"] for r in rows] == expected
    coded = [r for r in rows if any(r[t.name] == "1" for t in Theme.objects.filter(project=project))]
    assert len(coded) == prevalence(scope=scope)["respondents"]
    page = report_html_render(scope).decode()
    assert "(plan = Family, day from 2024-02-01 to 2024-03-31)" in page
