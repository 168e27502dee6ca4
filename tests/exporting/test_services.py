"""Exports: the long CSV re-imports to the same project; formulas are neutralised and the importer undoes it."""
import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from labeling_app.exporting.services import (
    export_render,
    long_csv_export,
    report_pdf_render,
    wide_csv_export,
    xlsx_export,
)
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope, insights_scope_from_params
from labeling_app.labeling.selectors.counts import project_counts
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.projects.models import Project
from labeling_app.themes.services.themes import theme_create, theme_update
from tests.factories import UserFactory
from tests.model_versions import model_version_make

CHROMIUM = settings.REPORT_CHROMIUM
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-output" / "screenshots"

# Texts a spreadsheet would run as formulas, an apostrophe of the respondent's own, and a text that is both.
TRICKY = ["=SUM(A1:A9) is what I pay", "+44 support line never answers", "-- too slow --", "@support ignored me",
          "'Fine' I guess", "'=not a formula'", "Plain, with a comma and \"quotes\""]
# The source file is written as ThemeLoop's exporter would: the respondent's "'=..." comes escaped as "''=...".
SOURCE_TEXTS = [("'" + t if t.startswith("'=") else t).replace('"', '""') for t in TRICKY]
SOURCE = "respondent_id,response,theme,plan\n" + "".join(
    f"R{i},{_q},{theme},{plan}\n" for i, (_q, theme, plan) in enumerate(
        [(f'"{t}"' if ("," in t or '"' in t) else t, theme, plan)
         for t, theme, plan in zip(
             SOURCE_TEXTS,
             ["Price", "Support", "Speed", "Support", "", "Price", "Value"],
             ["Basic", "Family", "Basic", "=cmd|' /C calc'!A0", "Basic", "Family", "Basic"], strict=True)],
        start=1)
) + "R1,\"=SUM(A1:A9) is what I pay\",Value,Basic\n"


def _import(name: str, data: bytes, filename: str = "f.csv") -> tuple[Project, ImportJob]:
    project = Project.objects.create(name=name)
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile(filename, data))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    return project, job


def _contents(project: Project) -> dict[str, tuple[str, dict, set[str]]]:
    return {r.respondent_id: (r.text, r.metadata, set(export_themes(project, r.respondent_id)))
            for r in project.responses.all()}


def export_themes(project: Project, respondent_id: str) -> list[str]:
    rows = csv.DictReader(io.StringIO(long_csv_export(InsightsScope(project=project)).decode()))
    return [row["theme"] for row in rows if row["respondent_id"] == respondent_id and row["theme"]]


@pytest.mark.django_db
def test_long_csv_round_trip_gives_the_same_summary_and_texts():
    first, job = _import("Original", SOURCE.encode())
    assert job.summary == "imported 7 responses, 4 themes, 7 labels"
    exported = long_csv_export(InsightsScope(project=first))
    second, again = _import("Re-imported", exported)
    assert again.summary == job.summary
    texts = {r.respondent_id: r.text for r in second.responses.all()}
    assert texts == {f"R{i}": t for i, t in enumerate(TRICKY, start=1)}
    assert texts["R1"].startswith("=") and texts["R6"] == "'=not a formula'" and texts["R5"] == "'Fine' I guess"
    assert second.responses.get(respondent_id="R4").metadata == {"plan": "=cmd|' /C calc'!A0"}
    assert _contents(second) == _contents(first)


@pytest.mark.django_db
def test_long_csv_neutralises_formula_cells_and_only_those():
    project, _ = _import("Original", SOURCE.encode())
    rows = list(csv.reader(io.StringIO(long_csv_export(InsightsScope(project=project)).decode())))
    assert rows[0] == ["respondent_id", "response", "theme", "plan", "themeloop_row", "theme_description"]
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=SUM(A1:A9) is what I pay" in cells and "'+44 support line never answers" in cells
    assert "'-- too slow --" in cells and "'@support ignored me" in cells and "'=cmd|' /C calc'!A0" in cells
    assert "''=not a formula'" in cells  # the respondent's own apostrophe is escaped too, so import can undo exactly
    assert "'Fine' I guess" in cells  # not formula-like: left as written
    assert not [c for c in cells if c and c[0] in "=+-@"]


@pytest.mark.django_db
def test_wide_csv_has_a_zero_one_column_per_theme():
    project, _ = _import("Original", SOURCE.encode())
    rows = list(csv.DictReader(io.StringIO(wide_csv_export(InsightsScope(project=project)).decode())))
    assert list(rows[0]) == ["respondent_id", "response", "plan", "Price", "Support", "Speed", "Value"]  # theme order
    by_id = {row["respondent_id"]: row for row in rows}
    assert (by_id["R1"]["Price"], by_id["R1"]["Value"], by_id["R1"]["Support"]) == ("1", "1", "0")
    assert [by_id["R5"][t] for t in ("Price", "Value", "Support", "Speed")] == ["0"] * 4
    assert sum(int(row[t]) for row in rows for t in ("Price", "Value", "Support", "Speed")) == 7


@pytest.mark.django_db
def test_xlsx_has_a_sheet_per_view_with_formulas_neutralised():
    project, _ = _import("Original", SOURCE.encode())
    book = load_workbook(io.BytesIO(xlsx_export(InsightsScope(project=project))))
    # No numeric or date column: no drivers or trends sheet; no segment asked for: no segments sheet.
    assert book.sheetnames == ["responses", "labels", "prevalence", "terms", "cooccurrence", "combinations", "quotes",
                               "about"]
    values = [c for row in book["labels"].iter_rows(values_only=True) for c in row]
    assert "'=SUM(A1:A9) is what I pay" in values and "=SUM(A1:A9) is what I pay" not in values
    themes = {row[0]: row[1] for row in book["prevalence"].iter_rows(min_row=2, values_only=True)}
    assert themes == {"Price": 2, "Support": 2, "Value": 2, "Speed": 1}
    # The long sheet is the import format too: saved alone as a workbook, it re-imports to the same texts.
    for name in book.sheetnames:
        if name != "labels":
            book.remove(book[name])
    buf = io.BytesIO()
    book.save(buf)
    again, job = _import("From XLSX", buf.getvalue(), "labels.xlsx")
    assert job.summary == "imported 7 responses, 4 themes, 7 labels"
    assert {r.text for r in again.responses.all()} == set(TRICKY)


@pytest.mark.django_db
def test_meta_filter_and_bad_parameters():
    project, _ = _import("Original", SOURCE.encode())
    scope = insights_scope_from_params(project=project, params={"meta": ["plan:Family"]})
    rows = list(csv.DictReader(io.StringIO(long_csv_export(scope).decode())))
    assert {row["respondent_id"] for row in rows if row["themeloop_row"] == "response"} == {"R2", "R6"}
    # The theme set comes whole, whatever the filter: a re-import has every theme to code with.
    assert [row["theme"] for row in rows if row["themeloop_row"] == "theme"] == ["Price", "Support", "Speed", "Value"]
    with pytest.raises(ValidationError, match="KEY:VALUE"):
        insights_scope_from_params(project=project, params={"meta": "plan"})
    with pytest.raises(ValidationError, match="unknown format"):
        export_render(scope=scope, fmt="docx")


@pytest.mark.django_db
def test_html_report_states_source_and_shows_themes_with_intervals():
    project, _ = _import("Original", SOURCE.encode())
    project.question = "Why are you cancelling?"
    project.save()
    page = export_render(scope=InsightsScope(project=project), fmt="html").decode()
    assert "Why are you cancelling?" in page and "Label source: resolved human labels" in page
    assert "6 respondents with resolved themes, of 7 responses" in page
    assert "data:image/png;base64,iVBOR" in page  # the chart, rendered on the server
    # Price: 2 of 6 respondents, Wilson 95% interval 9.7%-70.0% (worked by hand from the score formula).
    assert "<td>Price</td><td class=\"num\">2</td><td class=\"num\">33%</td><td class=\"num\">10–70%</td>" in page
    assert "=SUM(A1:A9) is what I pay" in page and "&#x27;=not a formula&#x27;" in page


@pytest.mark.skipif(not (shutil.which("pdftoppm") and Path(CHROMIUM).exists()), reason="needs chromium, poppler")
@pytest.mark.django_db
def test_pdf_report_pages_show_the_chart_and_the_quotes(tmp_path):
    project, _ = _import("Original", SOURCE.encode())
    project.question = "Why are you cancelling?"
    project.save()
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report_pdf_render(InsightsScope(project=project)))
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    for quote in ("Why are you cancelling?", "+44 support line never answers", "@support ignored me", "Top themes"):
        assert quote in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(SCREENSHOTS / "report-pdf")], check=True)
    assert sorted(SCREENSHOTS.glob("report-pdf*.png"))  # pages kept for a person to look at
    # Pixels counted on the raw PPM of page 1 (no image library needed).
    ppm = subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "1", str(pdf)], check=True,
                         capture_output=True).stdout
    magic, size, depth, pixels = ppm.split(b"\n", 3)
    width, height = map(int, size.split())
    assert magic == b"P6" and depth == b"255"
    rgb = np.frombuffer(pixels, dtype=np.uint8)[: width * height * 3].reshape(-1, 3).astype(int)
    # The bars of the prevalence chart (charts.prevalence_chart) are #3b6ea8; the page's text and rules are grey.
    bar_pixels = int((np.abs(rgb - [0x3B, 0x6E, 0xA8]).max(axis=1) < 12).sum())
    assert bar_pixels > 500, bar_pixels


def _about(book) -> dict:
    return {row[0]: row[1] for row in book["about"].iter_rows(min_row=2, values_only=True)}


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["human", "model"])
def test_report_and_xlsx_state_the_current_model_and_its_quality_whatever_the_label_source(source):
    project, _ = _import("Original", SOURCE.encode())
    scope = InsightsScope(project=project, source=source)
    page = export_render(scope=scope, fmt="html").decode()
    assert "No model trained yet." in page
    assert _about(load_workbook(io.BytesIO(xlsx_export(scope))))["model version"] == "no model trained yet"

    themes = list(project.themes.order_by("order").values_list("pk", flat=True))
    responses = list(project.responses.values_list("pk", flat=True))
    version = model_version_make(project=project, number=3, theme_ids=themes, thresholds=[0.5] * len(themes),
                                 probabilities={r: [0.9] + [0.1] * (len(themes) - 1) for r in responses})
    version.micro_f1, version.quality_interval = 0.6123, {"micro": [0.55, 0.671], "macro": [0.4, 0.6], "level": 0.9}
    version.save(update_fields=["micro_f1", "quality_interval"])
    page = export_render(scope=scope, fmt="html").decode()
    assert "No model trained yet" not in page
    assert "Current model: version 3, micro F1 0.612 (90% interval 0.550 to 0.671), trained on 10 coded" in page
    assert "Micro F1 runs from 0 to 1: how closely the model" in page
    assert f"Label source: resolved human labels{'' if source == 'human' else ' plus model version 3'}" in page
    about = _about(load_workbook(io.BytesIO(xlsx_export(scope))))
    assert (about["model version"], about["model micro F1"]) == (3, 0.6123)
    assert about["model micro F1 interval"] == "0.612 (90% interval 0.550 to 0.671)"
    assert about["what micro F1 means"].startswith("0 to 1: how closely")


def _theme_set(project: Project) -> list[tuple[str, str, bool]]:
    return list(project.themes.order_by("order", "id").values_list("name", "description", "archived"))


@pytest.mark.django_db
def test_long_csv_carries_coded_with_no_theme_and_the_whole_theme_set():
    first, _ = _import("Original", SOURCE.encode())
    analyst = UserFactory(username="ana")
    r5 = first.responses.get(respondent_id="R5")
    annotation_submit(project=first, user=analyst, items=[AnnotationItem(r5.pk, [])])  # coded: no theme applies
    theme_create(project=first, name="Unused", description="Nobody said it, yet")
    theme_update(theme=first.themes.get(name="Speed"), archived=True, description="=old, \"quoted\"\nline two")
    exported = long_csv_export(InsightsScope(project=first))
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    assert [(r["theme"], r["themeloop_row"]) for r in rows if not r["respondent_id"]] == [
        ("Price", "theme"), ("Support", "theme"), ("Speed", "archived_theme"), ("Value", "theme"),
        ("Unused", "theme")]
    assert [r["themeloop_row"] for r in rows if r["respondent_id"] == "R5"] == ["coded_no_theme"]

    second, job = _import("Re-imported", exported)
    assert job.summary == "imported 7 responses, 5 themes, 7 labels"
    assert project_counts(project=second) == {**project_counts(project=first), "members": 0}
    assert project_counts(project=second)["coded_responses"] == 7  # R5 among them
    assert _theme_set(second) == _theme_set(first)
    assert _contents(second) == _contents(first)
    assert not second.themes.get(name="Speed").shortcut  # an archived theme holds no key


@pytest.mark.django_db
def test_xlsx_writes_number_and_date_columns_as_numbers_and_dates_and_reimports_the_same():
    import datetime

    source = ("respondent_id,response,theme,score,date,visited,ward,plan\n"
              "R1,Too dear,Price,1,2021-09-30,2021-09-30 12:30:00,007,Basic\n"
              "R2,Late again,Delivery,4.5,2021-10-02,2021-10-02 08:05:00,012,Family\n"
              "R3,Fine,,,,,,Basic\n")
    project, _ = _import("Typed", source.encode())
    book = load_workbook(io.BytesIO(xlsx_export(InsightsScope(project=project))))
    for sheet, first_meta in (("responses", 2), ("labels", 3)):
        rows = list(book[sheet].iter_rows())
        header = [c.value for c in rows[0]]
        # PostgreSQL's jsonb keeps keys in its own order, so the columns are found by name.
        assert sorted(header[first_meta:first_meta + 5]) == ["date", "plan", "score", "visited", "ward"]
        cells = {r[0].value: {h: c for h, c in zip(header, r, strict=False)} for r in rows[1:]}
        r1, r2, r3 = cells["R1"], cells["R2"], cells["R3"]
        assert (r1["score"].value, r2["score"].value) == (1, 4.5) and r1["score"].data_type == "n"
        assert r1["date"].value == datetime.datetime(2021, 9, 30) and r1["date"].is_date
        assert r1["date"].number_format == "yyyy-mm-dd"
        assert r2["visited"].value == datetime.datetime(2021, 10, 2, 8, 5) and r2["visited"].is_date
        assert r2["visited"].number_format == "yyyy-mm-dd hh:mm:ss"
        assert r1["ward"].value == "007" and r1["plan"].value == "Basic"  # a code keeps its zeros; text is text
        assert r3["score"].value is None and r3["date"].value is None
    # The labels sheet still re-imports to the same metadata, and the date columns are dates again.
    for name in book.sheetnames:
        if name != "labels":
            book.remove(book[name])
    buf = io.BytesIO()
    book.save(buf)
    again, _ = _import("From typed XLSX", buf.getvalue(), "labels.xlsx")
    assert {r.respondent_id: r.metadata for r in again.responses.all()} == \
        {r.respondent_id: r.metadata for r in project.responses.all()}
    from labeling_app.insights.selectors.insights import metadata_columns

    assert {c["key"]: c["kind"] for c in metadata_columns(project=again)} == \
        {"date": "date", "plan": "category", "score": "number", "visited": "date", "ward": "number"}


def test_report_paper_is_a4_unless_the_locale_prints_on_us_letter(settings):
    from labeling_app.exporting.services import report_paper_get
    from labeling_app.settings import report_paper_for

    assert [report_paper_for(code) for code in ("en-gb", "de", "fr-fr", "en-us", "fr-ca", "en_US")] == \
        ["A4", "A4", "A4", "Letter", "Letter", "Letter"]
    assert settings.LANGUAGE_CODE == "en-gb" and report_paper_get() == "A4"
    settings.REPORT_PAPER = "Letter"
    assert report_paper_get() == "Letter"
    settings.REPORT_PAPER = "A4; } body { display: none"  # never written into the style sheet as it is
    assert report_paper_get() == "A4"


def _long_report_source() -> bytes:
    """A survey whose report runs over several pages: 14 themes, long answers, a segment and a score column."""
    words = "the delivery came late again and the driver left the box outside in the rain so the food spoiled"
    lines = ["respondent_id,response,theme,plan,score"]
    for i in range(140):
        themes = [f"Theme {(i + k) % 14:02d} about the service" for k in range(1 + i % 3)]
        for theme in themes:
            lines.append(f"R{i},\"{words} {i} {words[: 20 + (i * 7) % 60]}\",{theme},{'Basic' if i % 2 else 'Family'},"
                         f"{1 + (i * 3) % 5}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.skipif(not (shutil.which("pdfinfo") and Path(CHROMIUM).exists()), reason="needs chromium, poppler")
@pytest.mark.django_db
def test_pdf_report_is_a4_and_no_page_ends_with_a_heading(tmp_path):
    project, _ = _import("Long report", _long_report_source())
    scope = InsightsScope(project=project)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report_pdf_render(scope))
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "(A4)" in info, info  # 595.28 x 841.89 pts, was US Letter (612 x 792)
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 3
    html = export_render(scope=scope, fmt="html").decode()
    headings = {re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html)}
    headings = {h.replace("&#x27;", "'") for h in headings}
    assert "In their words" in headings and "All themes" in headings and "By plan" in headings
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"], check=True,
                              capture_output=True, text=True).stdout
        last = [line.strip() for line in text.splitlines() if line.strip()][-1]
        assert last not in headings, f"page {page} ends with the heading {last!r}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(SCREENSHOTS / "report-a4")], check=True)
