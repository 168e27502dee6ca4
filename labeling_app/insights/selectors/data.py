"""The tables every insights view counts over, built once per state of a project and cached.

Two tables: the responses (ids, metadata columns as numpy arrays, text lengths and, on first use, a sparse
word and 2-gram count matrix) and the labels (a respondent x theme boolean matrix of resolved human codings,
with the current model's estimates for the rest where asked). Building them is one pass over the project's
rows; a view then filters and counts with numpy in milliseconds, instead of reading and looping over every row
per request.

Each table is keyed by what it is made of, so a change is never served stale: the responses by their count and
largest id (imported responses are never edited), the labels by the labels revision, a fingerprint of the
codings, the current model and the live theme set. Keys carry the project's creation time, so a project id
reused after a database reset cannot pick up another project's tables. Tables live in the process (a small LRU)
and in the Django cache (Redis), so every web process and worker shares one build (an import warms them).
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max
from scipy import sparse

from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Adjudication, Annotation
from labeling_app.labeling.selectors.autocodes import autocode_fingerprint, autocodes_current
from labeling_app.labeling.selectors.consensus import consensus_exceptions
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.predictions import predictions_current
from labeling_app.projects.models import Project, Response
from ml.language import term_counts

CACHE_SECONDS = 6 * 3600
LOCAL_TABLES = 6  # tables kept in each process (a few projects' worth)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


@dataclass(frozen=True)
class MetaColumn:
    """One metadata key over all responses of the project."""

    key: str
    kind: str  # "category", "number" or "date"
    values: list[str]  # the distinct values as text, sorted
    codes: np.ndarray  # (n,) int32 index into values; -1 where a response has no value under the key
    numbers: np.ndarray | None  # (n,) float64, NaN where empty: number columns
    days: np.ndarray | None  # (n,) datetime64[D], NaT where empty or not a date: date columns

    def equals(self, value: str) -> np.ndarray:
        """Rows whose value is `value` (a missing value reads as the empty string, as in the import file)."""
        mask = self.codes == (self.values.index(value) if value in self.values else -2)
        return mask | (self.codes == -1) if value == "" else mask

    def text(self) -> np.ndarray:
        """Each row's value as text ("" where missing)."""
        return np.array([*self.values, ""], dtype=object)[self.codes]


@dataclass(frozen=True)
class ResponseTable:
    """The project's responses in id order."""

    ids: np.ndarray  # (n,) int64 ascending
    lengths: np.ndarray  # (n,) int32 characters of text
    columns: dict[str, MetaColumn]


@dataclass(frozen=True)
class TermMatrix:
    """Counts of words and 2-grams (ml.language.tokens) per response, rows as in the ResponseTable."""

    counts: sparse.csr_matrix  # (n, V) int32
    vocabulary: list[str]


@dataclass(frozen=True)
class LabelTable:
    """Which themes each response carries for one label source, rows as in the ResponseTable."""

    theme_ids: list[int]
    labels: np.ndarray  # (n, k) bool
    labelled: np.ndarray  # (n,) bool: resolved by people, coded by the model (auto-coded), or (source "model")
    # estimated by the model
    estimated: np.ndarray  # (n,) bool: labels that are the model's estimates
    model_version: int | None
    model_f1: float | None
    auto: np.ndarray | None = None  # (n,) bool: labels the model coded (an auto-coding nobody has coded over)


T = TypeVar("T")
_local: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _cached(key: str, build: Callable[[], T], *, shared: bool = True) -> T:
    with _lock:
        if key in _local:
            _local.move_to_end(key)
            return _local[key]
    value = cache.get(key) if shared else None
    if value is None:
        value = build()
        if shared:
            cache.set(key, value, CACHE_SECONDS)
    with _lock:
        _local[key] = value
        while len(_local) > LOCAL_TABLES:
            _local.popitem(last=False)
    return value


def _project_key(project: Project) -> str:
    return f"insights:{project.pk}:{project.created_at.timestamp():.6f}"


def _responses_key(project: Project) -> str:
    state = Response.objects.filter(project=project).aggregate(n=Count("id"), last=Max("id"))
    return f"{_project_key(project)}:responses:{state['n']}:{state['last']}"


def _kind(values: list[str]) -> str:
    present = [v for v in values if v != ""]
    if present and all(_DATE.match(v) for v in present):
        return "date"
    try:
        [float(v) for v in present]
    except ValueError:
        return "category"
    return "number" if present else "category"


def _column(key: str, raw: list[str | None]) -> MetaColumn:
    values = sorted({v for v in raw if v is not None})
    index = {v: i for i, v in enumerate(values)}
    codes = np.array([-1 if v is None else index[v] for v in raw], dtype=np.int32)
    kind = _kind(values)
    numbers = days = None
    if kind == "number":
        per_value = np.array([*(float(v) if v != "" else np.nan for v in values), np.nan])
        numbers = per_value[codes]
    elif kind == "date":
        per_day = np.array([*map(parse_day, values), np.datetime64("NaT")], dtype="datetime64[D]")
        days = per_day[codes]
    return MetaColumn(key, kind, values, codes, numbers, days)


def parse_day(value: str) -> np.datetime64:
    """The date a metadata value starts with (yyyy-mm-dd), NaT if it does not."""
    try:
        return np.datetime64(date.fromisoformat(value[:10]), "D")
    except ValueError:
        return np.datetime64("NaT")


def _build_responses(project: Project) -> ResponseTable:
    ids: list[int] = []
    lengths: list[int] = []
    raw: dict[str, list[str | None]] = {}
    rows = Response.objects.filter(project=project).order_by("id").values_list("id", "metadata")
    for i, (rid, metadata) in enumerate(rows.iterator(chunk_size=5000)):
        ids.append(rid)
        for key, value in (metadata or {}).items():
            column = raw.get(key)
            if column is None:
                column = raw[key] = [None] * i
            column.append(str(value))
        for column in raw.values():
            if len(column) <= i:
                column.append(None)
    # Lengths in the database: texts are the largest part of a row and only quotes need their size.
    from django.db.models.functions import Length

    length_of = dict(Response.objects.filter(project=project).annotate(n=Length("text")).values_list("id", "n"))
    lengths = [length_of[r] for r in ids]
    columns = {key: _column(key, column) for key, column in sorted(raw.items())}
    return ResponseTable(np.array(ids, dtype=np.int64), np.array(lengths, dtype=np.int32), columns)


def response_table(*, project: Project) -> ResponseTable:
    """The project's responses with their metadata as columns (cached until responses are imported)."""
    return _cached(_responses_key(project), lambda: _build_responses(project))


def term_matrix(*, project: Project) -> TermMatrix:
    """Word and 2-gram counts of every response (cached in the process until responses are imported)."""
    def build() -> TermMatrix:
        texts = dict(Response.objects.filter(project=project).values_list("id", "text").iterator(chunk_size=5000))
        ids = response_table(project=project).ids
        counts, vocabulary = term_counts([texts[int(r)] for r in ids])
        return TermMatrix(counts, vocabulary)

    return _cached(_responses_key(project) + ":terms", build)


def insights_tables_warm(*, project: Project) -> None:
    """Build the project's tables ahead of the first view (after an import: the responses' tables are the slow
    ones to build at 100,000 responses), so every process finds them in the shared cache."""
    theme_ids = list(project.themes.filter(archived=False).order_by("order", "id").values_list("id", flat=True))
    term_matrix(project=project)
    label_table(project=project, source="human", theme_ids=theme_ids)


def _labels_key(project: Project, source: str, theme_ids: list[int], responses: str) -> str:
    # The revision moves with every change made through the services; the fingerprint also catches codings
    # written directly (fixtures, shell), so a table is never older than the codings it counts.
    annotations = Annotation.objects.filter(response__project=project).aggregate(n=Count("id"), last=Max("id"))
    decisions = Adjudication.objects.filter(response__project=project).aggregate(n=Count("id"), last=Max("id"))
    project.refresh_from_db(fields=["labels_revision", "current_model", "overlap_coders"])
    model = project.current_model_id if source == "model" else None
    themes = hashlib.sha1(",".join(map(str, theme_ids)).encode()).hexdigest()[:16]
    # overlap_coders: how many blind codings resolve an overlap item (a change resolves or reopens items).
    return (f"{responses}:labels:{source}:{project.labels_revision}:{project.overlap_coders}:{annotations['n']}:"
            f"{annotations['last']}:{decisions['n']}:{decisions['last']}:{model}:{themes}:"
            f"{autocode_fingerprint(project=project)}")


def _human_labels(project: Project, theme_ids: list[int], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`consensus_of` for every response, vectorised: a response with one complete coder (or bulk-added themes
    only), the common case, takes its themes straight from the rows; the few with several coders, a lead's
    decision or a blind overlap coding go through the consensus rules themselves (`consensus_exceptions`)."""
    column = {t: j for j, t in enumerate(theme_ids)}
    labels = np.zeros((len(ids), len(theme_ids)), dtype=bool)
    labelled = np.zeros(len(ids), dtype=bool)
    current = Annotation.objects.filter(CODING_LIVE, response__project=project)
    rows = np.array([(r, int(done), -1 if t is None else t) for r, done, t in current.values_list(
        "response_id", "is_complete", "themes").iterator(chunk_size=20000)], dtype=np.int64)
    rows = rows.reshape(-1, 3)
    response, complete, theme = rows.T
    special, _, consensus = consensus_exceptions(project=project)
    ordinary = ~np.isin(response, np.fromiter(special, dtype=np.int64, count=len(special)))
    at = np.searchsorted(ids, response)
    seen = ordinary & ((complete == 1) | (theme >= 0))
    labelled[at[seen]] = True
    live = np.array([column.get(t, -1) for t in theme.tolist()], dtype=np.int64) if len(theme) else theme
    hit = seen & (live >= 0)
    labels[at[hit], live[hit]] = True
    if special:
        for rid, themes in consensus.resolved.items():
            row = int(np.searchsorted(ids, rid))
            labelled[row] = True
            for t in themes:
                if t in column:
                    labels[row, column[t]] = True
    return labels, labelled


def _build_labels(project: Project, source: str, theme_ids: list[int], ids: np.ndarray) -> LabelTable:
    column = {t: j for j, t in enumerate(theme_ids)}
    labels, labelled = _human_labels(project, theme_ids, ids)
    # The model's codes count where nobody has coded (a human coding always wins), whatever the source.
    auto = np.zeros(len(ids), dtype=bool)
    for rid, themes in autocodes_current(project=project).items():
        row = int(np.searchsorted(ids, rid))
        if row < len(ids) and ids[row] == rid and not labelled[row]:
            auto[row] = labelled[row] = True
            for t in themes:
                if t in column:
                    labels[row, column[t]] = True
    estimated = np.zeros(len(ids), dtype=bool)
    version = f1 = None
    preds = predictions_current(project=project) if source == "model" else None
    if preds is not None and project.current_model_id is not None:
        version, f1 = ModelVersion.objects.filter(pk=project.current_model_id).values_list(
            "number", "micro_f1").first() or (None, None)
        at = np.searchsorted(ids, preds.response_ids)
        known = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == preds.response_ids) if len(ids) else at < 0
        rows_p, at = np.flatnonzero(known), at[known]
        fresh = ~labelled[at]
        rows_p, at = rows_p[fresh], at[fresh]
        above = preds.probabilities[rows_p] >= preds.thresholds[None, :]
        for j, theme_id in enumerate(preds.theme_ids):
            if theme_id in column:
                labels[at, column[theme_id]] = above[:, j]
        labelled[at] = True
        estimated[at] = True
    return LabelTable(theme_ids, labels, labelled, estimated, version, f1, auto)


def label_table(*, project: Project, source: str, theme_ids: list[int]) -> LabelTable:
    """The labels of every response for a source ("human" or "model") over the given live themes (cached until
    codings, the theme set or the current model change)."""
    responses = _responses_key(project)
    ids = _cached(responses, lambda: _build_responses(project)).ids
    return _cached(_labels_key(project, source, theme_ids, responses),
                   lambda: _build_labels(project, source, theme_ids, ids))
