"""Coded responses as files a client can open: long CSV (ThemeLoop's import format), wide CSV and XLSX.

Formula neutralisation, and its exact undo on import: a cell whose text matches ``^'*[=+\\-@\\t\\r]`` (any
number of apostrophes, then a character a spreadsheet reads as the start of a formula) gets one leading
apostrophe. The importer (`labeling_app.importing.parser.cell_unneutralise`) strips one leading apostrophe
from a cell matching ``^''*[=+\\-@\\t\\r]``. Because apostrophes already in front of such a character are
escaped too, the pair is a bijection: every text, "'=x" included, re-imports exactly as it was exported.
"""
import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ValidationError
from openpyxl import Workbook

from labeling_app.models import Project, Response, Theme
from labeling_app.selectors.consensus import consensus_for_project

# A spreadsheet runs a cell starting with = + - @ (and tab/CR variants) as a formula.
NEEDS_NEUTRALISING = re.compile(r"^'*[=+\-@\t\r]")


class ExportScope(Protocol):
    """What the exporters read of an `InsightsScope` (labeling_app.selectors.insights)."""

    project: Project
    meta: tuple[tuple[str, str], ...]


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
}


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
    raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
