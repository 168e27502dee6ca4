"""Coded responses and insights as files a client can open: long CSV (ThemeLoop's import format), wide CSV,
XLSX (a sheet per insights view), and a client report as HTML or PDF. SPSS and Triple-S (sav_export,
triple_s_export) are written from `codeframe_build`, the same coded rows keyed by the codeframe's numbers.
Every format but the PDF is made in the request that asks for it; the PDF is a job (ReportExport):
`report_export_request` records it, a worker prints it with Chromium (`report_export_run`), and the page and API
poll its row, then download the file.

Every export takes an `InsightsScope` (labeling_app.insights.selectors.insights: `source`, `meta=KEY:VALUE` filters, a
date range) and counts what the dashboard counts: figures come from the insights selectors, charts from
`services.charts`.

Label source. With ``source="human"`` (the default) the files hold resolved human labels only, and the long CSV
re-imports exactly: it carries the whole theme set (a row per theme, with its description and archived state)
and marks responses coded with no theme (`_long_rows`), so the same summary, themes and per-theme counts come
back. With ``source="model"`` responses that no human resolved carry the current model's predicted themes (above
each theme's threshold), and the files say so: the wide CSV, the long CSV and the XLSX sheets "responses" and
"labels" gain a column ``label_source`` (``human``, ``model`` for an estimate, empty for a response with no
labels; last, or in the long format before its two marker columns); the report states how many respondents are
estimates. The model's own codes (an auto-coding an admin or lead confirmed, for responses nobody coded) are in
every export, marked ``auto`` in that column (which is there whenever there are any), and the report and the
"about" sheet state them in one line (`review.selectors.autocode_check.autocode_statement`). The long CSV stays
the import format even then, so a re-import of it reads the estimates as labels and ``label_source`` as a
metadata column: export ``source=human`` to move coded work between projects. The
report and the XLSX "about" sheet state the current model's version and micro F1 (with its interval where
stored) whatever the source (`selectors.training.model_current_quality`).

Formula neutralisation, and its exact undo on import: a cell whose text matches ``^'*[=+\\-@\\t\\r]`` (any
number of apostrophes, then a character a spreadsheet reads as the start of a formula) gets one leading
apostrophe. The importer (`labeling_app.importing.parser.cell_unneutralise`) strips one leading apostrophe
from a cell matching ``^''*[=+\\-@\\t\\r]``. Because apostrophes already in front of such a character are
escaped too, the pair is a bijection: every text, "'=x" included, re-imports exactly as it was exported.
Every text cell of every sheet goes through `cell_neutralise` (XLSX: `xlsx_cell_value`, which first turns control
characters a workbook cannot hold, such as a vertical tab pasted from another system, into spaces).
"""
from __future__ import annotations

import base64
import csv
import datetime
import io
import logging
import os
import re
import subprocess
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from labeling_app.exporting.models import ReportExport
from labeling_app.importing.parser import (
    DESCRIPTION_COLUMN,
    NET_COLUMN,
    ROW_ARCHIVED_THEME,
    ROW_COLUMN,
    ROW_NO_THEME,
    ROW_RESPONSE,
    ROW_THEME,
    SENTIMENT_COLUMN,
)
from labeling_app.insights.selectors import insights as sel
from labeling_app.insights.services import charts
from labeling_app.jobs.registry import TASK_REPORT_PDF
from labeling_app.jobs.services.outbox import enqueue_on_commit
from labeling_app.jobs.services.runs import (
    JobLost,
    job_claim,
    job_fail,
    job_failure_reason,
    job_heartbeat,
    job_succeed,
)
from labeling_app.labeling.selectors.autocodes import autocodes_current
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.selectors.sentiment import sentiment_names, sentiments_resolved
from labeling_app.modeling.selectors.training import ModelQuality, model_current_quality
from labeling_app.projects.models import Project, Response
from labeling_app.review.selectors.autocode_check import autocode_statement
from labeling_app.themes.models import Net, Theme

logger = logging.getLogger(__name__)

# A spreadsheet runs a cell starting with = + - @ (and tab/CR variants) as a formula.
NEEDS_NEUTRALISING = re.compile(r"^'*[=+\-@\t\r]")

FORMATS = {  # format -> (content type, file extension)
    "csv": ("text/csv; charset=utf-8", "csv"),
    "csv-wide": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
}
TOP_THEMES = 10  # themes with distinguishing words (XLSX and report) and quotes (report)
TERMS_PER_THEME = 15  # XLSX; the report shows the first REPORT_TERMS
REPORT_TERMS = 8
# One line a lead understands, as on the Model page (modeling/partials/micro_f1_note.html says the same).
MICRO_F1_MEANS = ("0 to 1: how closely the model's themes match the ones people gave, counting every theme decision "
                  "on every response together (common themes weigh most); 1 means always the same.")
REPORT_QUOTES = 3  # quotes per top theme in the report: every pinned one first, representatives make up the rest
REPORT_PINNED = 5
REPORT_CHART_THEMES = 15  # bars in the report's prevalence chart; the table below it lists every theme
REPORT_DRIVER_THEMES = 12  # the themes with the largest contribution either way
REPORT_DIFFERENCES = 15
PAPER_SIZES = ("A4", "Letter", "A3", "A5", "Legal")  # CSS @page size keywords Chromium prints


@dataclass(frozen=True)
class ExportOptions:
    """The views' own parameters (the scope holds the filters): which column segments, scores and dates come from."""

    segment: str | None = None  # XLSX "segments" sheet; the report picks a 2-8-valued column when None
    score: str | None = None  # drivers of this column only; every numeric column when None
    period: str = "month"  # trends by "week" or "month"


def xlsx_cell_value(value: object) -> object:
    """A value as an XLSX cell: control characters a workbook cannot hold (vertical tab, NUL...) become spaces,
    then the formula rule applies. The long CSV keeps such texts exactly; the workbook cannot."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
    return cell_neutralise(value)


_INTEGER = re.compile(r"^-?(0|[1-9]\d*)$")
_DECIMAL = re.compile(r"^-?(0|[1-9]\d*)\.\d+$")
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"


def xlsx_cell_typed(sheet: WriteOnlyWorksheet, value: object, kind: str) -> object:
    """A metadata value of a number or date column as a number, or a date with a date format, so a spreadsheet
    sorts and sums it. Text that would not come back the same stays text: a code with leading zeros ("007"),
    "nan", an exponent, a value that is not a date."""
    text = value if isinstance(value, str) else ""
    if kind == "number":
        if _INTEGER.match(text):
            return int(text)
        if _DECIMAL.match(text):
            return float(text)
    elif kind == "date" and text:
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            dated = len(text) == 10
            cell = WriteOnlyCell(sheet, value=moment.date() if dated else moment)
            cell.number_format = DATE_FORMAT if dated else DATETIME_FORMAT
            return cell
    return xlsx_cell_value(value) if text else None


def export_options_parse(params: Mapping[str, str | list[str]]) -> ExportOptions:
    """`segment`, `score` and `period` (week|month) from query or command parameters; ValidationError on a bad
    period (a column that does not exist is refused by the selector that reads it)."""
    def one(key: str) -> str | None:
        value = params.get(key)
        return (value[-1] if value else None) if isinstance(value, list) else value or None

    period = one("period") or "month"
    if period not in ("week", "month"):
        raise ValidationError("period must be 'week' or 'month'.")
    return ExportOptions(segment=one("segment"), score=one("score"), period=period)


def cell_neutralise(value: object) -> object:
    """One leading apostrophe on a text a spreadsheet would read as a formula (see the module's rule)."""
    if isinstance(value, str) and NEEDS_NEUTRALISING.match(value):
        return "'" + value
    return value


# ---- response rows (long CSV, wide CSV, the "responses" and "labels" sheets) ----------------------------


@dataclass
class _Coded:
    responses: list[Response]  # in scope, in file order (uncoded ones too: the long CSV re-imports them)
    names: dict[int, list[str]]  # response pk -> its theme names, in theme order
    label_source: dict[int, str]  # response pk -> "human", "model" (an estimate) or "" (no labels)
    theme_names: list[str]
    keys: list[str]
    themes: list[Theme]  # the whole theme set, archived themes too, in the project's order
    sentiment: dict[int, int] = field(default_factory=dict)  # response pk -> people's sentiment (coded projects)


def _coded_rows(scope: sel.InsightsScope) -> _Coded:
    project = scope.project
    # Uncoded responses too (the long CSV re-imports them), through the dashboard's own filter.
    wanted = sel.scope_response_ids(scope=scope)
    responses = [r for r in Response.objects.filter(project=project).order_by("id") if r.pk in wanted]
    themes = list(Theme.objects.filter(project=project).select_related("net").order_by("order", "id"))
    name_of = {t.pk: t.name for t in themes}
    order_of = {t.pk: i for i, t in enumerate(themes)}
    labels: dict[int, frozenset[int]] = dict(consensus_for_project(project=project).resolved)
    source = dict.fromkeys(labels, "human")
    # The model's codes (an auto-coding) where nobody has coded, marked as the model's whatever the source.
    auto = {pk: themes for pk, themes in autocodes_current(project=project).items() if pk not in labels}
    labels.update(auto)
    source.update(dict.fromkeys(auto, "auto"))
    if scope.source == "model":
        labels.update({pk: themes for pk, themes in sel.model_estimates(project=project).items() if pk not in labels})
        source.update({pk: "model" for pk in labels if pk not in source})
    names = {r.pk: [name_of[t] for t in sorted(labels.get(r.pk, ()), key=order_of.__getitem__) if t in name_of]
             for r in responses}
    used = {n for theme_names in names.values() for n in theme_names}
    keys: dict[str, None] = {}
    for r in responses:
        keys.update(dict.fromkeys(str(k) for k in (r.metadata or {})))
    # Every live theme is a column, so filtered exports of one project line up; archived ones only where used.
    moods = sentiments_resolved(project=project) if project.sentiment_levels else {}
    return _Coded(responses, names, {r.pk: source.get(r.pk, "") for r in responses},
                  [t.name for t in themes if not t.archived or t.name in used], list(keys), themes, moods)


CODED_SENTIMENT = "coded_sentiment"  # people's sentiment in the wide files (1 = most positive); blank: none


def _marked(scope: sel.InsightsScope, coded: _Coded) -> bool:
    """Whether the files carry a `label_source` column: with the model's estimates, or any model codes."""
    return scope.source == "model" or "auto" in coded.label_source.values()


def _csv(rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([[cell_neutralise(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8")


def _long_rows(scope: sel.InsightsScope, coded: _Coded | None = None) -> list[list[object]]:
    """The long format with ThemeLoop's own two last columns (parser.ROW_COLUMN, parser.DESCRIPTION_COLUMN):
    first a row per theme of the whole theme set (`theme` or `archived_theme`, with its description, no
    respondent), then the respondents' rows: `response` (a theme each, or one row with a blank theme when
    uncoded) or `coded_no_theme` (people coded it and no theme applies). So a re-import gives the same theme
    set and the same coded responses, labels and per-theme counts."""
    c = coded or _coded_rows(scope)
    marked = _marked(scope, c)
    # A codeframe with nets adds a `net` column, filled on the theme rows (the import reads it back).
    nets = any(t.net_id for t in c.themes)
    # People's sentiment as the import reads it back (a `sentiment` column), unless the metadata holds one already.
    moods = bool(scope.project.sentiment_levels) and SENTIMENT_COLUMN not in {k.strip().lower() for k in c.keys}
    rows: list[list[object]] = [["respondent_id", "response", "theme", *c.keys, *(["label_source"] if marked else []),
                                 *([SENTIMENT_COLUMN] if moods else []), ROW_COLUMN, DESCRIPTION_COLUMN,
                                 *([NET_COLUMN] if nets else [])]]
    blank = [""] * (len(c.keys) + marked + moods)
    no_net = [""] if nets else []
    for t in c.themes:
        rows.append(["", "", t.name, *blank, ROW_ARCHIVED_THEME if t.archived else ROW_THEME, t.description,
                     *([t.net.name if t.net else ""] if nets else [])])
    for r in c.responses:
        meta = [str((r.metadata or {}).get(k, "")) for k in c.keys]
        tail = ([c.label_source[r.pk]] if marked else []) + ([c.sentiment.get(r.pk, "")] if moods else [])
        if not c.names[r.pk]:
            # Resolved by people with no theme is coded; a model estimate of no theme is not (nobody coded it).
            kind = ROW_NO_THEME if c.label_source[r.pk] == "human" else ROW_RESPONSE
            rows.append([r.respondent_id, r.text, "", *meta, *tail, kind, "", *no_net])
        for theme in c.names[r.pk]:
            rows.append([r.respondent_id, r.text, theme, *meta, *tail, ROW_RESPONSE, "", *no_net])
    return rows


def _wide_rows(scope: sel.InsightsScope, coded: _Coded | None = None) -> list[list[object]]:
    c = coded or _coded_rows(scope)
    marked = _marked(scope, c)
    moods = scope.project.sentiment_levels > 0
    rows: list[list[object]] = [["respondent_id", "response", *c.keys, *c.theme_names,
                                 *(["label_source"] if marked else []), *([CODED_SENTIMENT] if moods else [])]]
    for r in c.responses:
        has = set(c.names[r.pk])
        rows.append([r.respondent_id, r.text, *[str((r.metadata or {}).get(k, "")) for k in c.keys],
                     *[1 if n in has else 0 for n in c.theme_names], *([c.label_source[r.pk]] if marked else []),
                     *([c.sentiment.get(r.pk, "")] if moods else [])])
    return rows


# ---- the codeframe (SPSS, Triple-S): respondents by code numbers, from the same coded rows ---------------

#: `label_source` as a number in the statistical formats (SPSS value labels, Triple-S values); 0: nobody coded it.
LABEL_SOURCE_CODES = {"": 0, "human": 1, "auto": 2, "model": 3}
LABEL_SOURCE_LABELS = {0: "not coded", 1: "coded by people", 2: "the model's own codes (auto-coding)",
                       3: "model estimate"}


@dataclass(frozen=True)
class CodeframeCode:
    """A code as the statistical formats show it: its stable number, its name and the number of its net."""

    code: int
    name: str
    net: int | None


@dataclass(frozen=True)
class CodeframeNet:
    """A net with the numbers of its codes in the export (a respondent is in it with any of them)."""

    code: int
    name: str
    codes: tuple[int, ...]


@dataclass(frozen=True)
class CodeframeRespondent:
    """One response: its id, metadata values (in `Codeframe.keys` order), label source and code numbers (None
    when nobody coded it: the statistical formats leave its codes missing, not 0)."""

    respondent_id: str
    metadata: tuple[str, ...]
    label_source: str
    codes: frozenset[int] | None
    sentiment: int | None = None  # people's sentiment, 1 = most positive (None: not given)

    def nets(self, frame: Codeframe) -> frozenset[int] | None:
        """The numbers of the nets this respondent is in (any of a net's codes), None when not coded."""
        if self.codes is None:
            return None
        return frozenset(n.code for n in frame.nets if self.codes.intersection(n.codes))


@dataclass(frozen=True)
class Codeframe:
    """The coded rows of an export keyed by code numbers: what the SPSS and Triple-S files are written from."""

    project_name: str
    keys: list[str]  # metadata columns, in the CSV/XLSX exports' order
    numeric_keys: frozenset[str]  # metadata columns whose every non-empty value is a plain number
    codes: list[CodeframeCode]  # the CSV's theme columns: every live code, archived ones only where used
    nets: list[CodeframeNet]  # the project's nets that hold any of `codes`, in the nets' order
    respondents: list[CodeframeRespondent]
    sentiment_names: dict[int, str] = field(default_factory=dict)  # level -> name; {} when not coded


def ascii_fold(text: str) -> str:
    """`text` in ASCII, accents dropped ("Zoë" -> "Zoe"): what statistics packages' variable names allow."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def name_unique(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3` ... the first not in `taken` (compared without case); added to `taken`."""
    name, n = base, 1
    while name.upper() in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name.upper())
    return name


def _plain_number(text: str) -> bool:
    """A number a statistics package holds exactly (a double: 15 significant digits), written without leading
    zeros or an exponent; "007" and long account numbers stay text."""
    return bool(_INTEGER.match(text) or _DECIMAL.match(text)) and len(text.lstrip("-").replace(".", "")) <= 15


def codeframe_build(scope: sel.InsightsScope) -> Codeframe:
    """The respondents of the scope with their code numbers, from `_coded_rows` (the rows of the CSV and XLSX
    exports, model codes and estimates marked the same way), so a screen, an export and the model agree."""
    c = _coded_rows(scope)
    by_name = {t.name: t for t in c.themes}
    shown = [by_name[n] for n in c.theme_names]
    nets = list(Net.objects.filter(project=scope.project).order_by("order", "id"))
    net_code = {n.pk: n.code for n in nets}
    codes = [CodeframeCode(t.code, t.name, net_code.get(t.net_id) if t.net_id else None) for t in shown]
    frame_nets = [CodeframeNet(n.code, n.name, codes=tuple(t.code for t in shown if t.net_id == n.pk))
                  for n in nets]
    respondents = []
    numeric, filled = set(c.keys), set[str]()
    for r in c.responses:
        meta = tuple(str((r.metadata or {}).get(k, "")) for k in c.keys)
        filled.update(k for k, v in zip(c.keys, meta, strict=True) if v)
        numeric -= {k for k, v in zip(c.keys, meta, strict=True) if v and not _plain_number(v)}
        coded = c.label_source[r.pk] != ""
        respondents.append(CodeframeRespondent(
            r.respondent_id, meta, c.label_source[r.pk],
            frozenset(by_name[n].code for n in c.names[r.pk]) if coded else None, c.sentiment.get(r.pk)))
    return Codeframe(scope.project.name, c.keys, frozenset(numeric & filled), codes,
                     [n for n in frame_nets if n.codes], respondents,
                     sentiment_names(levels=scope.project.sentiment_levels))


def long_csv_export(scope: sel.InsightsScope) -> bytes:
    """One row per (response, theme), after a row per theme of the theme set: ThemeLoop's own import format
    (see `_long_rows`), UTF-8, formulas neutralised."""
    return _csv(_long_rows(scope))


def wide_csv_export(scope: sel.InsightsScope) -> bytes:
    """One row per response, a 0/1 column per theme (and `label_source` with source="model"), formulas neutralised."""
    return _csv(_wide_rows(scope))


# ---- XLSX: a sheet per view ------------------------------------------------------------------------------


def _top_themes(prevalence: dict, n: int = TOP_THEMES) -> list[dict]:
    return [t for t in prevalence["themes"] if t["count"] > 0][:n]


def _prevalence_rows(prevalence: dict) -> list[list[object]]:
    """Codes by share, each net above its codes when the codeframe has nets (a net counts a respondent once)."""
    n = prevalence["respondents"]
    return [["theme", "respondents", "share", "ci_low", "ci_high", "base", "kind", "code"],
            *[[r["label"], r["count"], r["share"], r["ci_low"], r["ci_high"], n, r["kind"], r["code"]]
              for r in charts.prevalence_rows_by_net(prevalence)]]


def _segment_rows(prevalence: dict) -> tuple[list[list[object]], list[list[object]]]:
    shares: list[list[object]] = [["segment", "theme", "respondents", "share", "ci_low", "ci_high", "base"]]
    for seg in prevalence.get("segments", []):
        for t in seg["themes"]:
            shares.append([seg["segment"], t["theme"], t["count"], t["share"], t["ci_low"], t["ci_high"],
                           seg["respondents"]])
    if prevalence.get("grouped"):
        # The column had more values than are compared: say so under the table, as the chart does.
        shares += [[], [f"Note: {charts.segments_grouped_note(prevalence['grouped'])}."]]
    tests: list[list[object]] = [["theme", "segment_a", "segment_b", "z", "p", "p_adjusted", "significant"]]
    for d in sorted(prevalence.get("differences", []), key=lambda d: (d["p_adjusted"], d["theme"])):
        tests.append([d["theme"], d["segment_a"], d["segment_b"], d["z"], d["p"], d["p_adjusted"],
                      "yes" if d["significant"] else "no"])
    return shares, tests


def _terms_by_theme(scope: sel.InsightsScope, top: list[dict], limit: int) -> list[dict]:
    return [sel.terms(scope=scope, theme_id=t["theme_id"], limit=limit) for t in top]


def _terms_rows(terms: list[dict]) -> list[list[object]]:
    rows: list[list[object]] = [["theme", "rank", "term", "z", "count_in", "count_out"]]
    for block in terms:
        for rank, t in enumerate(block["terms"], start=1):
            rows.append([block["theme"], rank, t["term"], t["z"], t["count_in"], t["count_out"]])
    return rows


def _score_columns(scope: sel.InsightsScope, options: ExportOptions) -> list[str]:
    if options.score:
        return [options.score]
    return [c["key"] for c in sel.metadata_columns(project=scope.project) if c["kind"] == "number"]


def _drivers_rows(drivers: list[dict]) -> list[list[object]]:
    rows: list[list[object]] = [["score", "theme", "respondents", "mean_with", "mean_without", "impact",
                                 "impact_ci_low", "impact_ci_high", "contribution", "contribution_ci_low",
                                 "contribution_ci_high", "score_mean", "base"]]
    for block in drivers:
        for t in block["themes"]:
            rows.append([block["score"], t["theme"], t["count"], t["mean_with"], t["mean_without"], t["impact"],
                         *t["impact_ci"], t["contribution"], *t["contribution_ci"], block["mean"],
                         block["respondents"]])
    return rows


def _cooccurrence_rows(co: dict) -> tuple[list[list[object]], list[list[object]]]:
    names = {t["theme_id"]: t["theme"] for t in co["themes"]}
    counts = {t["theme_id"]: t["count"] for t in co["themes"]}
    pairs: list[list[object]] = [["theme_a", "theme_b", "both", "lift", "count_a", "count_b"]]
    for p in sorted(co["pairs"], key=lambda p: (-p["count"], -p["lift"])):
        pairs.append([names[p["a"]], names[p["b"]], p["count"], p["lift"], counts[p["a"]], counts[p["b"]]])
    combos: list[list[object]] = [["rank", "themes", "size", "respondents"]]
    for rank, c in enumerate(co["combinations"], start=1):
        combos.append([rank, " + ".join(c["names"]), len(c["names"]), c["count"]])
    return pairs, combos


def _trends_rows(trends: dict, names: dict[int, str]) -> list[list[object]]:
    rows: list[list[object]] = [[trends["period"], "theme", "respondents", "share", "base"]]
    for p in trends["points"]:
        for t in p["themes"]:
            rows.append([p["period"], names.get(t["theme_id"], str(t["theme_id"])), t["count"], t["share"],
                         p["respondents"]])
    return rows


def _quote_blocks(quotes: dict, theme_ids: list[int] | None = None) -> list[dict]:
    """Per theme (in `theme_ids` order when given): its pinned quotes, then representatives not pinned."""
    blocks = {q["theme_id"]: q for q in quotes["themes"]}
    out = []
    for theme_id in theme_ids if theme_ids is not None else list(blocks):
        q = blocks.get(theme_id)
        if q is None:
            continue
        pinned = {p["id"] for p in q["pinned"]}
        out.append({"theme": q["theme"], "pinned": q["pinned"],
                    "representative": [r for r in q["representative"] if r["id"] not in pinned]})
    return out


def _quotes_rows(blocks: list[dict]) -> list[list[object]]:
    rows: list[list[object]] = [["theme", "kind", "respondent_id", "response"]]
    for b in blocks:
        rows += [[b["theme"], "pinned", q["respondent_id"], q["text"]] for q in b["pinned"]]
        rows += [[b["theme"], "representative", q["respondent_id"], q["text"]] for q in b["representative"]]
    return rows


def _filters(scope: sel.InsightsScope) -> list[str]:
    out = [f"{k} = {v}" for k, v in scope.meta]
    if scope.date_field and (scope.date_from or scope.date_to):
        out.append(f"{scope.date_field} from {scope.date_from or '…'} to {scope.date_to or '…'}")
    return out


def _model_f1_text(model: ModelQuality | None) -> str:
    """The F1 with its interval ("0.612 (90% interval 0.550 to 0.670)"), the F1 alone where no interval is stored,
    "" without a model or F1."""
    if model is None or model.micro_f1 is None:
        return ""
    text = f"{model.micro_f1:.3f}"
    if model.micro_interval is not None:
        level = f"{model.level:.0%} " if model.level else ""
        text += f" ({level}interval {model.micro_interval[0]:.3f} to {model.micro_interval[1]:.3f})"
    return text


def _autocode_line(scope: sel.InsightsScope, coded: _Coded) -> str:
    """The one line on the model's own codes (empty without an auto-coding), counted over the whole project."""
    human = sum(1 for s in coded.label_source.values() if s == "human")
    return autocode_statement(project=scope.project, human_coded=human)


def _about_rows(scope: sel.InsightsScope, info: dict, model: ModelQuality | None, respondents: int,
                estimated: int, autocode_line: str = "") -> list[list[object]]:
    project = scope.project
    return [["field", "value"], ["project", project.name], ["question", project.question or ""],
            ["label source", _source_text(scope, info, model, estimated)],
            ["model version", model.version if model else "no model trained yet"],
            ["model micro F1", model.micro_f1 if model and model.micro_f1 is not None else ""],
            ["model micro F1 interval", _model_f1_text(model) if model and model.micro_interval else ""],
            ["what micro F1 means", MICRO_F1_MEANS if model else ""],
            ["respondents with labels", respondents], ["of them model estimates", estimated],
            ["coded by the model", autocode_line],
            ["filters", "; ".join(_filters(scope)) or "none"],
            ["generated", timezone.now().strftime("%Y-%m-%d %H:%M UTC")]]


def _source_text(scope: sel.InsightsScope, info: dict, model: ModelQuality | None, estimated: int) -> str:
    """Which labels are counted; the model itself is stated apart (`_model_f1_text`), whatever the source."""
    if scope.source != "model":
        return "resolved human labels"
    version = info["model_version"] or (model.version if model else None)
    if version is None:
        return "resolved human labels (no model trained yet, so no estimates)"
    if not info["model_version"]:
        return f"resolved human labels (model version {version} has no predictions yet, so no estimates)"
    return (f"resolved human labels plus model version {version} estimates for {estimated} "
            f"respondent{'s' if estimated != 1 else ''} no human resolved")


def xlsx_export(scope: sel.InsightsScope, options: ExportOptions | None = None) -> bytes:
    """A workbook with a sheet per insights view, in this order: responses (wide), labels (long), prevalence
    (counts, shares, 95% Wilson intervals), segments and differences (with `options.segment`), terms (the
    distinguishing words of the top themes), drivers (each numeric column, or `options.score`), cooccurrence
    (pairs with counts and lift), combinations, trends (when the project has a date column), quotes (pinned,
    then representative) and about (label source, model, filters). Every text cell is neutralised."""
    options = options or ExportOptions()
    coded = _coded_rows(scope)
    prevalence = sel.prevalence(scope=scope)
    names = {t["theme_id"]: t["theme"] for t in prevalence["themes"]}
    sheets: list[tuple[str, list[list[object]]]] = [
        ("responses", _wide_rows(scope, coded)), ("labels", _long_rows(scope, coded)),
        ("prevalence", _prevalence_rows(prevalence)),
    ]
    if options.segment:
        shares, tests = _segment_rows(sel.prevalence(scope=scope, segment=options.segment))
        sheets += [("segments", shares), ("differences", tests)]
    sheets.append(("terms", _terms_rows(_terms_by_theme(scope, _top_themes(prevalence), TERMS_PER_THEME))))
    if scores := _score_columns(scope, options):
        sheets.append(("drivers", _drivers_rows([sel.drivers(scope=scope, score=s) for s in scores])))
    pairs, combos = _cooccurrence_rows(sel.cooccurrence(scope=scope))
    sheets += [("cooccurrence", pairs), ("combinations", combos)]
    try:
        dated = charts.insights_scope_dated(scope)
    except ValidationError:  # no date column: no trends sheet
        dated = None
    if dated is not None:
        sheets.append(("trends", _trends_rows(sel.trends(scope=dated, period=options.period), names)))
    sheets.append(("quotes", _quotes_rows(_quote_blocks(sel.quotes(scope=scope), [t["theme_id"] for t in
                                                                                   prevalence["themes"]]))))
    estimated = sum(1 for s in coded.label_source.values() if s == "model")
    info = sel.insights_source_info(scope=scope)
    model = model_current_quality(project=scope.project)
    sheets.append(("about", _about_rows(scope, info, model, prevalence["respondents"], estimated,
                                        _autocode_line(scope, coded))))
    book = Workbook(write_only=True)  # streams rows out: the wide sheet of a large project is most of the time
    kinds = {c["key"]: c["kind"] for c in sel.metadata_columns(project=scope.project)}
    # The metadata columns of the two response sheets, by position: number and date columns are written as
    # numbers and dates (the insights data layer's classification), every other cell as neutralised text.
    typed = {"responses": dict(enumerate(kinds.get(k, "") for k in ["", "", *coded.keys])),
             "labels": dict(enumerate(kinds.get(k, "") for k in ["", "", "", *coded.keys]))}
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        column_kind = typed.get(title, {})
        for i, row in enumerate(rows):
            sheet.append([xlsx_cell_value(v) if i == 0 or column_kind.get(j) not in ("number", "date")
                          else xlsx_cell_typed(sheet, v, column_kind[j]) for j, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---- the client report -----------------------------------------------------------------------------------


def _png(spec: dict) -> str:
    return base64.b64encode(charts.chart_render(spec, "png")).decode("ascii")


def _segment_section(scope: sel.InsightsScope, segment: str | None) -> dict | None:
    column = segment or charts.insights_column_default(project=scope.project, kind="segment")
    if column is None:
        return None
    prev = sel.prevalence(scope=scope, segment=column)
    if len(prev["segments"]) < 2:
        return None
    share = {(s["segment"], t["theme_id"]): t for s in prev["segments"] for t in s["themes"]}
    differences = [{"theme": d["theme"], "a": d["segment_a"], "b": d["segment_b"], "p_adjusted": d["p_adjusted"],
                    "share_a": share[(d["segment_a"], d["theme_id"])]["share"],
                    "share_b": share[(d["segment_b"], d["theme_id"])]["share"]}
                   for d in prev["differences"] if d["significant"]]
    # Many p-values round to 0 on a large survey: the widest gaps first among equals.
    differences.sort(key=lambda d: (d["p_adjusted"], -abs(d["share_a"] - d["share_b"]), d["theme"]))
    return {"column": column, "segments": [{"name": s["segment"], "respondents": s["respondents"]}
                                          for s in prev["segments"]],
            "chart_png": _png(charts.segments_chart_build(prev)), "differences": differences[:REPORT_DIFFERENCES],
            "more_differences": max(0, len(differences) - REPORT_DIFFERENCES),
            "chart_themes": min(charts.SEGMENT_THEMES, len(prev["themes"])),
            "grouped": charts.segments_grouped_note(prev["grouped"]) if prev.get("grouped") else ""}


def _drivers_section(scope: sel.InsightsScope, score: str | None) -> dict | None:
    column = score or charts.insights_column_default(project=scope.project, kind="number")
    if column is None:
        return None
    result = sel.drivers(scope=scope, score=column)
    if not result["respondents"]:
        return None
    # The themes that move the score most either way, in the selector's order (most negative first).
    strongest = sorted(result["themes"], key=lambda t: -abs(t["contribution"]))[:REPORT_DRIVER_THEMES]
    keep = {t["theme_id"] for t in strongest}
    shown = {**result, "themes": [t for t in result["themes"] if t["theme_id"] in keep]}
    return {"score": column, "mean": result["mean"], "respondents": result["respondents"],
            "themes": shown["themes"], "chart_png": _png(charts.drivers_chart_build(shown))}


def report_context_build(scope: sel.InsightsScope, options: ExportOptions | None = None) -> dict:
    """What the client report shows, as plain data: the question, respondents, label source and model, filters,
    top themes with 95% intervals and chart, their distinguishing words and quotes (pinned first), a segment
    comparison and drivers of a score where the metadata has them."""
    options = options or ExportOptions()
    coded = _coded_rows(scope)
    prevalence = sel.prevalence(scope=scope)
    info = sel.insights_source_info(scope=scope)
    model = model_current_quality(project=scope.project)
    estimated = sum(1 for s in coded.label_source.values() if s == "model")
    top = _top_themes(prevalence)
    terms = {b["theme_id"]: b["terms"] for b in _terms_by_theme(scope, top, REPORT_TERMS)}
    quotes = {b["theme"]: b for b in _quote_blocks(sel.quotes(scope=scope), [t["theme_id"] for t in top])}
    for t in top:
        block = quotes.get(t["theme"], {"pinned": [], "representative": []})
        pinned = block["pinned"][:REPORT_PINNED]
        t.update(terms=terms.get(t["theme_id"], []), pinned=pinned,
                 representative=block["representative"][:max(0, REPORT_QUOTES - len(pinned))])
    charted = {**prevalence, "themes": _top_themes(prevalence, REPORT_CHART_THEMES)}
    return {
        "project": scope.project, "respondents": prevalence["respondents"], "responses": len(coded.responses),
        "themes": top, "all_themes": prevalence["themes"] if len(prevalence["themes"]) > len(top) else [],
        "chart_themes": len(charted["themes"]), "filters": _filters(scope),
        "source": _source_text(scope, info, model, estimated), "model_source": scope.source == "model",
        # The current model and its quality, stated whatever the label source (None: no model made current yet).
        "model": model, "model_f1_text": _model_f1_text(model), "micro_f1_means": MICRO_F1_MEANS,
        "estimated": estimated, "autocode_line": _autocode_line(scope, coded),
        "chart_png": _png(charts.prevalence_chart_build(charted)) if top else "",
        "segment": _segment_section(scope, options.segment), "drivers": _drivers_section(scope, options.score),
        "generated": timezone.now(),
    }


def report_paper_get() -> str:
    """The report's paper size for CSS `@page` (settings.REPORT_PAPER: A4 unless the locale uses US Letter)."""
    paper = str(getattr(settings, "REPORT_PAPER", "A4"))
    return paper if paper in PAPER_SIZES else "A4"


def report_html_render(scope: sel.InsightsScope, options: ExportOptions | None = None) -> bytes:
    """The client report as one standalone HTML file (styles inline, charts as PNG data URIs, text escaped)."""
    context = {**report_context_build(scope, options), "paper": report_paper_get()}
    return render_to_string("labeling_app/exporting/report.html", context).encode("utf-8")


class ReportPrintError(Exception):
    """Chromium could not print the report; the message says why in words a lead can act on."""


def report_pdf_render(scope: sel.InsightsScope, options: ExportOptions | None = None) -> bytes:
    """The report printed to PDF by headless Chromium (settings.REPORT_CHROMIUM; offline: the HTML needs nothing
    from the network). Seconds of CPU: the web never calls it, a worker does (`report_export_run`), and so does the
    `export_responses` command. ReportPrintError when Chromium is missing, fails or runs past
    REPORT_PRINT_TIMEOUT_SECONDS."""
    chromium, timeout = str(settings.REPORT_CHROMIUM), settings.REPORT_PRINT_TIMEOUT_SECONDS
    with tempfile.TemporaryDirectory() as tmp:
        page, pdf = os.path.join(tmp, "report.html"), os.path.join(tmp, "report.pdf")
        with open(page, "wb") as fh:
            fh.write(report_html_render(scope, options))
        try:
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                 f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}", f"file://{page}"],
                check=True, capture_output=True, timeout=timeout,
            )
        except OSError as exc:  # not there, not executable
            raise ReportPrintError(f"Chromium could not be started from {chromium!r} (setting REPORT_CHROMIUM): "
                                   f"{exc.strerror or exc}") from None
        except subprocess.TimeoutExpired:
            raise ReportPrintError(f"Chromium did not finish printing the report within {timeout} s") from None
        except subprocess.CalledProcessError as exc:
            said = [line for line in (exc.stderr or b"").decode("utf-8", "replace").splitlines() if line.strip()]
            raise ReportPrintError(f"Chromium could not print the report (exit status {exc.returncode})"
                                   + (f": {said[-1][:300]}" if said else "")) from None
        if not os.path.exists(pdf) or not os.path.getsize(pdf):
            raise ReportPrintError("Chromium ended without printing the report")
        with open(pdf, "rb") as fh:
            return fh.read()


def export_render(*, scope: sel.InsightsScope, fmt: str, options: ExportOptions | None = None) -> bytes:
    """The export in one of FORMATS; raises ValidationError for an unknown format or a bad view parameter."""
    if fmt == "csv":
        return long_csv_export(scope)
    if fmt == "csv-wide":
        return wide_csv_export(scope)
    if fmt == "xlsx":
        return xlsx_export(scope, options)
    if fmt == "html":
        return report_html_render(scope, options)
    if fmt == "pdf":
        return report_pdf_render(scope, options)
    raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# ---- the PDF report as a job ------------------------------------------------------------------------------
# Printing takes seconds of Chromium: a request records a ReportExport and a worker prints it (tasks.py), the
# page and the API poll the row and then download its file. The other formats stay direct (`export_render`).

#: The parameters a report takes: the insights filters and the report's own view options.
REPORT_PARAMS = ("source", "meta", "date_field", "date_from", "date_to", "segment", "score")


def _report_params_clean(params: Mapping[str, str | list[str]]) -> dict[str, list[str]]:
    """The report's parameters as lists of non-empty strings (a query string's shape); the rest are left out."""
    kept: dict[str, list[str]] = {}
    for key in REPORT_PARAMS:
        raw = params.get(key)
        values = [raw] if isinstance(raw, str) else list(raw or [])
        if values := [str(v) for v in values if v not in (None, "")]:
            kept[key] = values
    return kept


def _report_inputs(*, project: Project, params: Mapping[str, str | list[str]]
                   ) -> tuple[sel.InsightsScope, ExportOptions]:
    """The scope and options of a report; ValidationError on a bad filter, option or column."""
    scope = sel.insights_scope_from_params(project=project, params=params)
    options = export_options_parse(params)
    columns = {c["key"] for c in sel.metadata_columns(project=project)}
    for column in (options.segment, options.score):
        if column and column not in columns:
            raise ValidationError(f"Unknown metadata column {column!r}.")
    return scope, options


def report_export_request(*, project: Project, user: User | None,
                          params: Mapping[str, str | list[str]]) -> ReportExport:
    """Check the report's filters and options (ValidationError, before anything is kept), record the report and
    ask a worker to print it once this commits. The page and the API answer with the row at once (202)."""
    kept = _report_params_clean(params)
    _report_inputs(project=project, params=kept)
    report_files_prune()
    with transaction.atomic():
        job = ReportExport.objects.create(project=project, requested_by=user, params=kept)
        enqueue_on_commit(TASK_REPORT_PDF, report_export_id=job.pk)
    return job


def report_export_run(*, report_export_id: int, task_id: str = "") -> ReportExport | None:
    """Print one requested report to PDF and keep the file; None when this delivery must not run it.

    Claimed, beaten and fenced by jobs.services.runs: a report that is printed or printing under another live
    delivery is not printed again, and only the delivery that owns the row records its file. A failure (Chromium
    missing or failing, a filter no longer valid, the time limit) leaves a failed row saying why.
    """
    job = job_claim(ReportExport, pk=report_export_id, task_id=task_id, select_related=("project",))
    if job is None:
        return None
    try:
        with job_heartbeat(job, task_id=task_id):
            scope, options = _report_inputs(project=job.project, params=job.params)
            _report_store(job, report_pdf_render(scope, options), task_id=task_id)
    except JobLost:
        logger.warning("report %s was taken over by another delivery; this one kept nothing", job.pk)
        return None
    except ValidationError as exc:  # the project changed since the request: a column or theme went away
        job_fail(job, f"the report could not be made: {' '.join(exc.messages)}", task_id=task_id)
    except ReportPrintError as exc:
        job_fail(job, str(exc), task_id=task_id)
    except Exception as exc:
        logger.exception("report %s failed", job.pk)
        job_fail(job, job_failure_reason(exc, f"the report could not be made: {exc}"), task_id=task_id)
    report_files_prune()
    return job


def _report_store(job: ReportExport, data: bytes, *, task_id: str) -> None:
    """Write the PDF to the media store and mark the job succeeded with it; the file goes again if another
    delivery owns the job by now."""
    job.file.save(f"{slugify(job.project.name) or 'project'}-report.pdf", ContentFile(data), save=False)
    name = str(job.file.name)
    try:
        with transaction.atomic():
            job_succeed(job, task_id=task_id, file=name, size=len(data))
    except JobLost:
        job.file.storage.delete(name)
        raise


def report_files_prune() -> int:
    """Delete the PDFs of reports printed longer ago than REPORT_RETENTION_HOURS; the rows stay, with
    `file_purged_at`. Returns how many went. Runs whenever a report is asked for or printed; safe to run twice
    or at once (only the run that clears a row's name counts it, and a file already gone is no error)."""
    cutoff = timezone.now() - datetime.timedelta(hours=settings.REPORT_RETENTION_HOURS)
    done = ReportExport.objects.filter(finished_at__lte=cutoff).exclude(file="").only("pk", "file")
    pruned = 0
    for job in done.iterator():
        job.file.delete(save=False)
        pruned += ReportExport.objects.filter(pk=job.pk).exclude(file="").update(file="",
                                                                                 file_purged_at=timezone.now())
    if pruned:
        logger.info("deleted %s expired report file(s)", pruned)
    return pruned
