"""Coded responses as files a client can open: long CSV (ThemeLoop's import format), wide CSV and XLSX.

Formula neutralisation, and its exact undo on import: a cell whose text matches ``^'*[=+\\-@\\t\\r]`` (any
number of apostrophes, then a character a spreadsheet reads as the start of a formula) gets one leading
apostrophe. The importer (`labeling_app.importing.parser.cell_unneutralise`) strips one leading apostrophe
from a cell matching ``^''*[=+\\-@\\t\\r]``. Because apostrophes already in front of such a character are
escaped too, the pair is a bijection: every text, "'=x" included, re-imports exactly as it was exported.
"""
import base64
import csv
import io
import math
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook

from labeling_app.models import Project, Response, Theme
from labeling_app.selectors.consensus import consensus_for_project

# A spreadsheet runs a cell starting with = + - @ (and tab/CR variants) as a formula.
NEEDS_NEUTRALISING = re.compile(r"^'*[=+\-@\t\r]")


class ExportScope(Protocol):
    """What the exporters read of an `InsightsScope` (labeling_app.selectors.insights); both are frozen dataclasses."""

    @property
    def project(self) -> Project: ...

    @property
    def meta(self) -> tuple[tuple[str, str], ...]: ...


def cell_neutralise(value: object) -> object:
    """One leading apostrophe on a text a spreadsheet would read as a formula (see the module's rule)."""
    if isinstance(value, str) and NEEDS_NEUTRALISING.match(value):
        return "'" + value
    return value


def _coded_rows(scope: ExportScope) -> tuple[list[Response], dict[int, list[str]], list[str], list[str]]:
    """Responses in scope (file order), each one's resolved theme names, the theme columns, metadata keys."""
    project = scope.project
    responses = list(Response.objects.filter(project=project).order_by("id"))
    filters = tuple(getattr(scope, "meta", ()) or ())
    if filters:
        responses = [r for r in responses if all(str((r.metadata or {}).get(k, "")) == v for k, v in filters)]
    themes = list(Theme.objects.filter(project=project).order_by("order", "id"))
    name_of = {t.pk: t.name for t in themes}
    order_of = {t.pk: i for i, t in enumerate(themes)}
    resolved = consensus_for_project(project=project).resolved
    coded = {r.pk: [name_of[t] for t in sorted(resolved.get(r.pk, ()), key=order_of.__getitem__) if t in name_of]
             for r in responses}
    used = {n for names in coded.values() for n in names}
    keys: dict[str, None] = {}
    for r in responses:
        keys.update(dict.fromkeys(str(k) for k in (r.metadata or {})))
    # Every live theme is a column, so filtered exports of one project line up; archived ones only where used.
    return responses, coded, [t.name for t in themes if not t.archived or t.name in used], list(keys)


def _csv(rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([[cell_neutralise(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8")


def _long_rows(scope: ExportScope) -> list[list[object]]:
    responses, coded, _, keys = _coded_rows(scope)
    rows: list[list[object]] = [["respondent_id", "response", "theme", *keys]]
    for r in responses:
        meta = [str((r.metadata or {}).get(k, "")) for k in keys]
        for theme in coded[r.pk] or [""]:  # an uncoded response is one row with an empty theme
            rows.append([r.respondent_id, r.text, theme, *meta])
    return rows


def _wide_rows(scope: ExportScope) -> list[list[object]]:
    responses, coded, theme_names, keys = _coded_rows(scope)
    rows: list[list[object]] = [["respondent_id", "response", *keys, *theme_names]]
    for r in responses:
        has = set(coded[r.pk])
        rows.append([r.respondent_id, r.text, *[str((r.metadata or {}).get(k, "")) for k in keys],
                     *[1 if n in has else 0 for n in theme_names]])
    return rows


def export_long_csv(scope: ExportScope) -> bytes:
    """One row per (response, resolved theme): ThemeLoop's own import format, UTF-8, formulas neutralised."""
    return _csv(_long_rows(scope))


def export_wide_csv(scope: ExportScope) -> bytes:
    """One row per response, a 0/1 column per theme (resolved human labels), formulas neutralised."""
    return _csv(_wide_rows(scope))


def export_xlsx(scope: ExportScope) -> bytes:
    """A workbook with a sheet per view: "responses" (wide), "labels" (long) and "themes" (counts)."""
    wide, long = _wide_rows(scope), _long_rows(scope)
    book = Workbook()
    sheets = [("responses", wide), ("labels", long), ("themes", _theme_count_rows(long))]
    for index, (title, rows) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append([cell_neutralise(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _theme_count_rows(long: list[list[object]]) -> list[list[object]]:
    counts: dict[str, int] = {}
    for row in long[1:]:
        if row[2]:
            counts[str(row[2])] = counts.get(str(row[2]), 0) + 1
    respondents = len({row[0] for row in long[1:]})
    return [["theme", "responses", "share"],
            *[[name, n, round(n / respondents, 6) if respondents else 0.0]
              for name, n in sorted(counts.items(), key=lambda kv: -kv[1])]]


FORMATS = {  # format -> (content type, file extension)
    "csv": ("text/csv; charset=utf-8", "csv"),
    "csv-wide": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
}
CHROMIUM = "/usr/bin/chromium"
REPORT_TOP_THEMES = 10
REPORT_QUOTES = 3


@dataclass(frozen=True)
class BasicScope:
    """The metadata filters of an InsightsScope; stands in until ins-data's selectors.insights is merged."""

    project: Project
    meta: tuple[tuple[str, str], ...] = ()


def export_scope_from_params(*, project: Project, params: Mapping[str, str | list[str]]) -> BasicScope:
    """`meta=KEY:VALUE` filters (repeatable, ANDed); raises ValidationError on a malformed one."""
    raw = params.get("meta", [])
    pairs = []
    for item in [raw] if isinstance(raw, str) else raw:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ValidationError(f"meta filter {item!r} is not KEY:VALUE")
        pairs.append((key, value))
    return BasicScope(project=project, meta=tuple(pairs))


def export_render(*, scope: ExportScope, fmt: str) -> bytes:
    """The export in one of FORMATS; raises ValidationError for an unknown format."""
    if fmt == "csv":
        return export_long_csv(scope)
    if fmt == "csv-wide":
        return export_wide_csv(scope)
    if fmt == "xlsx":
        return export_xlsx(scope)
    if fmt == "html":
        return report_html(scope)
    if fmt == "pdf":
        return report_pdf(scope)
    raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def export_chart(spec: dict, fmt: str = "png") -> bytes:
    """A Vega-Lite spec rendered on the server by vl-convert (no browser, no network): PNG or SVG bytes."""
    import vl_convert

    if fmt == "svg":
        return vl_convert.vegalite_to_svg(spec).encode("utf-8")
    if fmt == "png":
        return bytes(vl_convert.vegalite_to_png(spec, scale=2))
    raise ValueError(f"unknown chart format {fmt!r}")


def _wilson(count: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    # 95% Wilson score interval; ins-data's ml.insights.wilson_interval replaces this once merged.
    if n == 0:
        return 0.0, 0.0
    p = count / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


def _prevalence_chart(themes: list[dict]) -> dict:
    # A small Vega-Lite dict of our own: ins-dash's charts.prevalence_chart was not on main when this was written.
    data = [{"theme": t["theme"], "share": t["share"], "ci_low": t["ci_low"], "ci_high": t["ci_high"]} for t in themes]
    y = {"field": "theme", "type": "nominal", "sort": None, "title": None}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": 420,
        "data": {"values": data},
        "layer": [
            {"mark": {"type": "bar", "color": "#4c78a8"},
             "encoding": {"y": y, "x": {"field": "share", "type": "quantitative", "title": "share of respondents",
                                        "axis": {"format": "%"}}}},
            {"mark": {"type": "rule", "color": "#222"},
             "encoding": {"y": y, "x": {"field": "ci_low", "type": "quantitative"}, "x2": {"field": "ci_high"}}},
        ],
    }


def report_context(scope: ExportScope) -> dict:
    """What the client report shows, as plain data: respondents, top themes with 95% intervals, quotes, source."""
    responses, coded, _, _ = _coded_rows(scope)
    coded_responses = [r for r in responses if coded.get(r.pk)]
    n = len([r for r in responses if r.pk in consensus_for_project(project=scope.project).resolved])
    counts: dict[str, int] = {}
    for r in responses:
        for name in coded[r.pk]:
            counts[name] = counts.get(name, 0) + 1
    top = []
    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:REPORT_TOP_THEMES]:
        low, high = _wilson(count, n)
        quotes = [r.text for r in coded_responses if name in coded[r.pk]][:REPORT_QUOTES]
        top.append({"theme": name, "count": count, "share": round(count / n, 6) if n else 0.0,
                    "ci_low": round(low, 6), "ci_high": round(high, 6), "quotes": quotes})
    model = scope.project.current_model
    chart = export_chart(_prevalence_chart(top)) if top else b""
    return {
        "project": scope.project, "respondents": n, "responses": len(responses), "themes": top,
        "filters": [f"{k} = {v}" for k, v in getattr(scope, "meta", ())],
        "source": "resolved human labels", "model_version": model.number if model else None,
        "chart_png": base64.b64encode(chart).decode("ascii") if chart else "",
        "generated": timezone.now(),
    }


def report_html(scope: ExportScope) -> bytes:
    """The client report as one standalone HTML file (styles inline, charts as PNG data URIs)."""
    return render_to_string("labeling_app/report.html", report_context(scope)).encode("utf-8")


def report_pdf(scope: ExportScope) -> bytes:
    """The report printed to PDF by headless Debian chromium (offline; the HTML needs nothing from the network)."""
    with tempfile.TemporaryDirectory() as tmp:
        page, pdf = os.path.join(tmp, "report.html"), os.path.join(tmp, "report.pdf")
        with open(page, "wb") as fh:
            fh.write(report_html(scope))
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}", f"file://{page}"],
            check=True, capture_output=True, timeout=120,
        )
        with open(pdf, "rb") as fh:
            return fh.read()
