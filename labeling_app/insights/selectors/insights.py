"""Read side of the insights views (issue 10): who said what, by theme, under the analyst's filters.

Labels come from resolved human codings (source="human"), optionally topped up with the current model's
predictions for responses no human has resolved (source="model"). Counting is done with numpy over a
respondent x theme boolean matrix, never row-by-row over dicts.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations, pairwise
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from scipy import sparse

from labeling_app.core.metadata import meta_item_split
from labeling_app.insights.models import QuotePin
from labeling_app.insights.selectors.data import (
    MetaColumn,
    ResponseTable,
    label_table,
    parse_day,
    response_table,
    term_matrix,
)
from labeling_app.labeling.selectors.sentiment import sentiment_names, sentiments_resolved
from labeling_app.modeling.models import ResponseEmbedding
from labeling_app.modeling.selectors.predictions import predictions_current
from labeling_app.projects.models import Project, Response
from labeling_app.projects.selectors.waves import WAVE_COLUMN
from ml import insights as stats
from ml.language import log_odds_from_counts, term_key


@dataclass(frozen=True)
class InsightsScope:
    """Which labels and which respondents an insights view counts."""

    project: Project
    source: str = "human"
    meta: tuple[tuple[str, str], ...] = ()
    date_field: str | None = None
    date_from: date | None = None
    date_to: date | None = None




def _r(x: float) -> float:
    return round(float(x), 6)


def _one(params: Mapping[str, str | list[str]], key: str) -> str | None:
    v = params.get(key)
    if isinstance(v, list):
        v = v[-1] if v else None
    return v or None


def _date(value: str | None, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{key} must be a date in the form yyyy-mm-dd, not {value!r}.") from None


def insights_scope_from_params(*, project: Project, params: Mapping[str, str | list[str]]) -> InsightsScope:
    """Parses source, meta=KEY:VALUE (repeatable; KEY may hold ':'), date_field, date_from, date_to;
    ValidationError on bad values."""
    source = _one(params, "source") or "human"
    if source not in ("human", "model"):
        raise ValidationError("source must be 'human' or 'model'.")
    raw_meta = params.get("meta", [])
    metas = [raw_meta] if isinstance(raw_meta, str) else list(raw_meta)
    columns = {c["key"]: c["kind"] for c in metadata_columns(project=project)}
    meta: list[tuple[str, str]] = []
    for item in metas:
        # A column's name may hold ':' itself: the longest known column the item starts with is its KEY.
        split = meta_item_split(item, columns)
        if split is None:
            raise ValidationError(f"meta must be KEY:VALUE, not {item!r}.")
        meta.append(split)
    date_field = _one(params, "date_field")
    date_from = _date(_one(params, "date_from"), "date_from")
    date_to = _date(_one(params, "date_to"), "date_to")
    if (date_from or date_to) and not date_field:
        raise ValidationError("date_from and date_to need date_field.")
    for k, _ in meta:
        if k not in columns:
            raise ValidationError(f"Unknown metadata column {k!r}.")
    if date_field and columns.get(date_field) != "date":
        raise ValidationError(f"{date_field!r} is not a date column.")
    if date_from and date_to and date_from > date_to:
        raise ValidationError("date_from is after date_to.")
    return InsightsScope(project=project, source=source, meta=tuple(meta), date_field=date_field,
                         date_from=date_from, date_to=date_to)


def _segment_count(column: MetaColumn) -> int:
    # How many segments the column makes: distinct non-empty values, months for a date column (see
    # _segment_values).
    present = [v for v in column.values if v != ""]
    return len({v[:7] for v in present}) if column.kind == "date" else len(present)


def metadata_columns(*, project: Project) -> list[dict]:
    """The metadata columns of the project's responses with their kind, how many segments each makes
    (`segments`: distinct values, months for a date column) and, for categories, up to 50 values."""
    return [{"key": c.key, "kind": c.kind, "values": c.values[:50] if c.kind == "category" else [],
             "segments": _segment_count(c)}
            for c in response_table(project=project).columns.values()]


SEGMENT_VALUES = range(2, 13)  # a column making 2-12 segments compares readably side by side


def insights_defaults(*, project: Project) -> dict[str, str | None]:
    """The columns the views open on when none is named: `segment`, the first column that makes 2-12 segments,
    categories before numbers before dates (a date column segments by month, and two years of months made a
    5,500 px chart); `score`, the first numeric column (drivers); `date`, the first date column (trends). None
    where the project has no such column."""
    columns = metadata_columns(project=project)
    # A project of several waves compares them first.
    segment = next((c["key"] for c in columns if c["key"] == WAVE_COLUMN and c["segments"] in SEGMENT_VALUES), None)
    for kind in () if segment else ("category", "number", "date"):
        segment = next((c["key"] for c in columns if c["kind"] == kind and c["segments"] in SEGMENT_VALUES), None)
        if segment is not None:
            break
    first = {kind: next((c["key"] for c in columns if c["kind"] == kind), None) for kind in ("number", "date")}
    return {"segment": segment, "score": first["number"], "date": first["date"]}


@dataclass
class _Data:
    table: ResponseTable
    rows: np.ndarray  # (n,) rows of the table in scope that carry labels
    ids: np.ndarray  # (n,) their response ids
    theme_ids: list[int]
    names: dict[int, str]
    matrix: np.ndarray  # (n, k) bool
    estimates: int
    model_version: int | None
    model_f1: float | None
    # The codeframe: each theme's number and net, and each net with a live code (id, name, number, columns).
    codes: dict[int, int] = field(default_factory=dict)
    net_of: dict[int, int | None] = field(default_factory=dict)
    nets: list[tuple[int, str, int, list[int]]] = field(default_factory=list)

    def column(self, key: str) -> MetaColumn | None:
        return self.table.columns.get(key)


def _days(table: ResponseTable, key: str) -> np.ndarray:
    column = table.columns.get(key)
    if column is None:
        return np.full(len(table.ids), np.datetime64("NaT"), dtype="datetime64[D]")
    if column.days is not None:
        return column.days
    return np.array([parse_day(v) for v in column.text()], dtype="datetime64[D]")


def _scope_mask(scope: InsightsScope, table: ResponseTable) -> np.ndarray:
    mask = np.ones(len(table.ids), dtype=bool)
    for key, value in scope.meta:
        column = table.columns.get(key)
        mask &= column.equals(value) if column is not None else (value == "")
    if scope.date_field:
        days = _days(table, scope.date_field)
        mask &= ~np.isnat(days)
        if scope.date_from:
            mask &= days >= np.datetime64(scope.date_from, "D")
        if scope.date_to:
            mask &= days <= np.datetime64(scope.date_to, "D")
    return mask


def scope_response_ids(*, scope: InsightsScope) -> set[int]:
    """Every response the scope's filters (metadata values, date range) let through, labelled or not."""
    table = response_table(project=scope.project)
    return set(table.ids[_scope_mask(scope, table)].tolist())


def model_estimates(*, project: Project) -> dict[int, frozenset[int]]:
    """The current model's live themes for each response no human resolved: what source="model" counts."""
    theme_ids = list(project.themes.filter(archived=False).order_by("order", "id").values_list("id", flat=True))
    labels = label_table(project=project, source="model", theme_ids=theme_ids)
    ids = response_table(project=project).ids
    return {int(ids[i]): frozenset(theme_ids[j] for j in np.flatnonzero(labels.labels[i]))
            for i in np.flatnonzero(labels.estimated)}


def _data(scope: InsightsScope) -> _Data:
    project = scope.project
    themes = list(project.themes.filter(archived=False).order_by("order", "id")
                  .values_list("id", "name", "code", "net_id"))
    theme_ids = [t[0] for t in themes]
    table = response_table(project=project)
    labels = label_table(project=project, source=scope.source, theme_ids=theme_ids)
    rows = np.flatnonzero(labels.labelled & _scope_mask(scope, table))
    nets = [(n.pk, n.name, n.code, [j for j, t in enumerate(themes) if t[3] == n.pk])
            for n in project.nets.order_by("order", "pk")]
    return _Data(table, rows, table.ids[rows], theme_ids, {t[0]: t[1] for t in themes}, labels.labels[rows],
                 int(labels.estimated[rows].sum()), labels.model_version, labels.model_f1,
                 codes={t[0]: t[2] for t in themes}, net_of={t[0]: t[3] for t in themes},
                 nets=[n for n in nets if n[3]])


def insights_source_info(*, scope: InsightsScope) -> dict:
    """Which labels the views count: the source, the model version and its micro-F1, and how many are estimates."""
    d = _data(scope)
    return {"source": scope.source, "model_version": d.model_version,
            "model_micro_f1": None if d.model_f1 is None else _r(d.model_f1), "estimates": d.estimates}


def _theme_rows(d: _Data, mask: np.ndarray | None = None) -> tuple[int, list[dict]]:
    m = d.matrix if mask is None else d.matrix[mask]
    n = m.shape[0]
    counts = m.sum(axis=0)
    rows: list[dict[str, Any]] = []
    for j, t in enumerate(d.theme_ids):
        c = int(counts[j])
        lo, hi = stats.wilson_interval(c, n)
        rows.append({"theme": d.names[t], "theme_id": t, "code": d.codes.get(t), "net_id": d.net_of.get(t),
                     "count": c, "share": _r(c / n if n else 0.0), "ci_low": _r(lo), "ci_high": _r(hi)})
    rows.sort(key=lambda r: (-r["share"], r["theme_id"]))
    return n, rows


def net_membership(d: _Data) -> np.ndarray:
    """(respondents, nets) bool: a respondent is in a net when they have any of its codes (counted once)."""
    out = np.zeros((d.matrix.shape[0], len(d.nets)), dtype=bool)
    for k, (_, _, _, columns) in enumerate(d.nets):
        out[:, k] = d.matrix[:, columns].any(axis=1)
    return out


def _net_rows(d: _Data, mask: np.ndarray | None = None) -> list[dict]:
    """Each net's respondents (any of its codes, once) with a 95% Wilson interval, in the codeframe's order."""
    members = net_membership(d) if mask is None else net_membership(d)[mask]
    n = members.shape[0]
    rows: list[dict[str, Any]] = []
    for k, (net_id, name, code, columns) in enumerate(d.nets):
        c = int(members[:, k].sum())
        lo, hi = stats.wilson_interval(c, n)
        rows.append({"net": name, "net_id": net_id, "code": code, "theme_ids": [d.theme_ids[j] for j in columns],
                     "count": c, "share": _r(c / n if n else 0.0), "ci_low": _r(lo), "ci_high": _r(hi)})
    return rows


def _segment_values(d: _Data, key: str) -> np.ndarray:
    # A date column is compared by month; any other by its value as text.
    column = d.column(key)
    if column is None:
        return np.full(len(d.rows), "", dtype=object)
    text = column.text()[d.rows]
    return np.array([v[:7] for v in text], dtype=object) if column.kind == "date" else text


SEGMENTS_MAX = 12  # segments compared side by side: the largest values; the rest are grouped into OTHER_SEGMENT
OTHER_SEGMENT = "(other)"  # the segment of every value past the SEGMENTS_MAX largest


def segments_group(values: np.ndarray, *, limit: int = SEGMENTS_MAX) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Each row's segment: its value where the value is one of the `limit` commonest (ties by value), else
    OTHER_SEGMENT; with how many values and respondents were grouped (None when none were). Linear in the rows
    (one sort), so a column of all-different values costs what a column of two does."""
    unique, at, counts = np.unique(values.astype(str), return_inverse=True, return_counts=True)
    if len(unique) <= limit:
        return values, None
    keep = np.zeros(len(unique), dtype=bool)
    keep[np.lexsort((unique, -counts))[:limit]] = True  # largest first, ties by value
    other = OTHER_SEGMENT
    while other in set(unique[keep].tolist()):
        other += "*"
    grouped = np.where(keep[at], values, other).astype(object)
    return grouped, {"other_values": int((~keep).sum()), "respondents": int(counts[~keep].sum()), "segment": other}


def _counts_by(keys: np.ndarray, matrix: np.ndarray) -> tuple[list[str], list[int], np.ndarray]:
    """The distinct keys (sorted), how many rows have each, and each key's column sums of the (rows, k) bool
    matrix: one sort and one sparse product, linear in the rows however many keys there are (a mask per key
    made it rows x keys)."""
    unique, at = np.unique(np.asarray(keys).astype(str), return_inverse=True)
    at = at.ravel()
    rows = len(at)
    group = sparse.csr_matrix((np.ones(rows, dtype=np.int64), (at, np.arange(rows))), shape=(len(unique), rows))
    sums = np.asarray(group @ sparse.csr_matrix(matrix, dtype=np.int64).toarray()) if rows else \
        np.zeros((len(unique), matrix.shape[1]), dtype=np.int64)
    return unique.tolist(), np.bincount(at, minlength=len(unique)).tolist(), sums


def prevalence(*, scope: InsightsScope, segment: str | None = None) -> dict:
    """Share of respondents mentioning each theme with a 95% Wilson interval; by segment with Holm-corrected
    two-proportion z-tests between every pair of segments. At most SEGMENTS_MAX segments are compared, the
    largest: the others' respondents make one OTHER_SEGMENT, and `grouped` says how many values and respondents
    it holds (None when no value was grouped), so the cost and the answer stay bounded however many values the
    column has."""
    d = _data(scope)
    n, rows = _theme_rows(d)
    out: dict = {"respondents": n, "source": scope.source, "model_version": d.model_version, "themes": rows,
                 "nets": _net_rows(d)}
    if segment:
        kinds = {c["key"]: c["kind"] for c in metadata_columns(project=scope.project)}
        if segment not in kinds:
            raise ValidationError(f"Unknown metadata column {segment!r}.")
        values, grouped = segments_group(_segment_values(d, segment))
        other = grouped["segment"] if grouped else None
        segs = []
        per: dict[str, tuple[int, np.ndarray]] = {}
        for value in sorted(set(values.tolist()) - {other}) + ([other] if other else []):
            mask = values == value
            sn, srows = _theme_rows(d, mask)
            segs.append({"segment": value, "respondents": sn, "themes": srows, "nets": _net_rows(d, mask)})
            per[value] = (sn, d.matrix[mask].sum(axis=0))
        tests: list[dict[str, Any]] = []
        for a, b in combinations(list(per), 2):
            for j, t in enumerate(d.theme_ids):
                z, p = stats.two_proportion_z_test(int(per[a][1][j]), per[a][0], int(per[b][1][j]), per[b][0])
                tests.append({"theme_id": t, "theme": d.names[t], "segment_a": a, "segment_b": b, "z": _r(z), "p": p})
        adjusted = stats.holm_adjust([x["p"] for x in tests])
        for x, pa in zip(tests, adjusted, strict=False):
            x["p"] = _r(x["p"])
            x["p_adjusted"] = _r(pa)
            x["significant"] = bool(pa < 0.05)
        out["segments"] = segs
        out["differences"] = tests
        out["grouped"] = grouped
    return out


def _theme_name(scope: InsightsScope, theme_id: int) -> str:
    name = scope.project.themes.filter(pk=theme_id).values_list("name", flat=True).first()
    if name is None:
        raise ValidationError(f"No theme {theme_id} in this project.")
    return name


def terms(*, scope: InsightsScope, theme_id: int, limit: int = 30) -> dict:
    """Words and 2-grams most distinctive of a theme's responses against the rest (weighted log-odds z)."""
    name = _theme_name(scope, theme_id)
    d = _data(scope)
    if theme_id not in d.theme_ids:
        return {"theme_id": theme_id, "theme": name, "terms": [], "points": []}
    has = d.matrix[:, d.theme_ids.index(theme_id)]
    tm = term_matrix(project=scope.project)
    counts_in = np.asarray(tm.counts[d.rows[has]].sum(axis=0)).ravel()
    counts_out = np.asarray(tm.counts[d.rows[~has]].sum(axis=0)).ravel()
    rows = log_odds_from_counts(tm.vocabulary, counts_in, counts_out)
    for r in rows:
        r["z"], r["delta"] = _r(r["z"]), _r(r["delta"])
    points = sorted(rows, key=lambda r: -(r["count_in"] + r["count_out"]))[:400]
    return {"theme_id": theme_id, "theme": name, "terms": rows[:limit],
            "points": [{"term": r["term"], "frequency": r["count_in"] + r["count_out"], "z": r["z"]} for r in points]}


def term_responses(*, scope: InsightsScope, theme_id: int | None, term: str, limit: int = 50) -> dict:
    """Responses in scope (of the theme, if given) that contain the term, with where it occurs."""
    d = _data(scope)
    rows = d.rows
    if theme_id is not None:
        _theme_name(scope, theme_id)
        rows = rows[d.matrix[:, d.theme_ids.index(theme_id)]] if theme_id in d.theme_ids else rows[:0]
    pattern = re.compile(r"(?<![a-z0-9'])" + r"\W+".join(map(re.escape, term.lower().split())) + r"(?![a-z0-9'])")
    tm = term_matrix(project=scope.project)
    column = {t: j for j, t in enumerate(tm.vocabulary)}.get(term_key(term))
    if column is not None:  # the term matrix says which responses hold the term; the pattern finds where
        rows = rows[tm.counts[rows][:, column].toarray().ravel() > 0]
    ids = d.table.ids[rows]
    out: list[dict] = []
    for start in range(0, len(ids), 500):
        chunk = Response.objects.filter(id__in=ids[start:start + 500].tolist()).order_by("id")
        for rid, resp_id, text in chunk.values_list("id", "respondent_id", "text"):
            spans = [[m.start(), m.end()] for m in pattern.finditer(text.lower())]
            if spans:
                out.append({"id": rid, "respondent_id": resp_id, "text": text, "spans": spans})
                if len(out) >= limit:
                    return {"term": term, "responses": out}
    return {"term": term, "responses": out}


def _effect(impact: float, higher_is_better: bool) -> str:
    if impact == 0:
        return "none"
    return "better" if (impact > 0) == higher_is_better else "worse"


def drivers(*, scope: InsightsScope, score: str) -> dict:
    """Key drivers of a numeric score: each theme's impact (mean with - without) and contribution
    (impact x prevalence), with seeded bootstrap 95% intervals. `effect` reads the impact through the project's
    score direction (`score_higher_is_better`): "better" where the theme goes with a better score, "worse"
    where with a worse one (on a 1 = very good scale a positive impact is worse)."""
    kinds = {c["key"]: c["kind"] for c in metadata_columns(project=scope.project)}
    if kinds.get(score) != "number":
        raise ValidationError(f"{score!r} is not a numeric metadata column.")
    higher = bool(scope.project.score_higher_is_better)
    d = _data(scope)
    column = d.column(score)
    assert column is not None and column.numbers is not None
    raw = column.numbers[d.rows]
    keep = ~np.isnan(raw)
    scores, m = raw[keep], d.matrix[keep]
    n = len(scores)
    ci = stats.bootstrap_drivers(scores, m) if n else np.zeros((len(d.theme_ids), 4))
    rows = []
    for j, t in enumerate(d.theme_ids):
        has = m[:, j]
        c = int(has.sum())
        mw = float(scores[has].mean()) if c else 0.0
        mo = float(scores[~has].mean()) if c < n else 0.0
        impact = mw - mo if 0 < c < n else 0.0
        il, ih, cl, ch = ci[j] if 0 < c < n else (0.0, 0.0, 0.0, 0.0)
        rows.append({"theme_id": t, "theme": d.names[t], "count": c, "mean_with": _r(mw), "mean_without": _r(mo),
                     "impact": _r(impact), "impact_ci": [_r(il), _r(ih)],
                     "contribution": _r(impact * c / n if n else 0.0), "contribution_ci": [_r(cl), _r(ch)],
                     "effect": _effect(_r(impact), higher)})
    rows.sort(key=lambda r: (r["contribution"], r["theme_id"]))
    return {"score": score, "higher_is_better": higher, "mean": _r(scores.mean() if n else 0.0),
            "respondents": n, "themes": rows}


def wave_order(*, project: Project) -> list[str]:
    """The project's waves, oldest first: by when their first response came in (a wave is imported after the
    ones before it)."""
    table = response_table(project=project)
    column = table.columns.get(WAVE_COLUMN)
    if column is None:
        return []
    first: dict[str, int] = {}
    for value, pk in zip(column.text().tolist(), table.ids.tolist(), strict=True):
        if value and (value not in first or pk < first[value]):
            first[value] = pk
    return sorted(first, key=lambda w: (first[w], w))


def waves(*, scope: InsightsScope) -> dict:
    """Each net and code by wave: its share of the wave's respondents with a 95% Wilson interval, and the change
    from each wave to the next with a two-proportion z-test, Holm-corrected over every row and step. Empty when
    the project has one wave or none."""
    order = wave_order(project=scope.project)
    d = _data(scope)
    values = _segment_values(d, WAVE_COLUMN) if d.column(WAVE_COLUMN) is not None else np.zeros(0, dtype=object)
    seen = set(np.unique(values.astype(str)).tolist()) if len(values) else set()
    present = [w for w in order if w in seen]
    if len(present) < 2:
        return {"waves": [], "rows": [], "changes": []}
    # One pass over the rows for every wave and series (nets, then codes), not a mask per wave and series.
    keys, bases, sums = _counts_by(values, np.hstack([net_membership(d), d.matrix]))
    at = {k: i for i, k in enumerate(keys)}
    series: list[tuple[str, str, int | None]] = [("net", name, code) for _, name, code, _ in d.nets]
    series += [("code", d.names[t], d.codes.get(t)) for t in d.theme_ids]
    rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for s, (kind, name, code) in enumerate(series):
        per: list[dict[str, Any]] = []
        for wave in present:
            n, c = bases[at[wave]], int(sums[at[wave], s])
            lo, hi = stats.wilson_interval(c, n)
            per.append({"wave": wave, "count": c, "respondents": n, "share": _r(c / n if n else 0.0),
                        "ci_low": _r(lo), "ci_high": _r(hi)})
        rows.append({"kind": kind, "name": name, "code": code, "waves": per})
        for a, b in pairwise(per):
            z, p = stats.two_proportion_z_test(b["count"], b["respondents"], a["count"], a["respondents"])
            changes.append({"kind": kind, "name": name, "code": code, "from": a["wave"], "to": b["wave"],
                            "change": _r(b["share"] - a["share"]), "z": _r(z), "p": p})
    for change, adjusted in zip(changes, stats.holm_adjust([c["p"] for c in changes]), strict=True):
        change["p"], change["p_adjusted"], change["significant"] = _r(change["p"]), _r(adjusted), bool(adjusted < 0.05)
    return {"waves": [{"wave": w, "respondents": bases[at[w]]} for w in present],
            "rows": rows, "changes": changes}


def _sentiment_of(scope: InsightsScope, d: _Data) -> np.ndarray:
    """(n,) the sentiment of each labelled row in scope: people's, else (source "model") the model's likeliest;
    0 where none."""
    out = np.zeros(len(d.ids), dtype=np.int64)
    given = sentiments_resolved(project=scope.project)
    model = None
    if scope.source == "model":
        predictions = predictions_current(project=scope.project)
        model = predictions if predictions is not None and predictions.sentiment is not None else None
    at = model.rows(d.ids.tolist()) if model is not None else {}
    for i, pk in enumerate(d.ids.tolist()):
        level = given.get(pk)
        if level is None and pk in at and model is not None and model.sentiment is not None:
            level = int(model.sentiment[at[pk]].argmax()) + 1
        out[i] = level or 0
    return out


def sentiment_insights(*, scope: InsightsScope) -> dict:
    """Sentiment per theme and per net (how many of its respondents gave each level, the mean level, the share
    negative and positive) and what pulls sentiment down or up: each theme's impact on the mean level (with -
    without, bootstrap 95% interval; levels run 1 = most positive, so a positive impact is more negative)."""
    levels = scope.project.sentiment_levels
    names = sentiment_names(levels=levels)
    d = _data(scope)
    mood = _sentiment_of(scope, d) if levels else np.zeros(len(d.ids), dtype=np.int64)
    keep = (mood >= 1) & (mood <= levels)
    mood, m, nets = mood[keep], d.matrix[keep], net_membership(d)[keep]
    n = len(mood)
    middle = (levels + 1) / 2

    def row(has: np.ndarray) -> dict:
        c = int(has.sum())
        counts = [int(((mood == level) & has).sum()) for level in range(1, levels + 1)]
        return {"count": c, "levels": counts, "mean": _r(float(mood[has].mean())) if c else None,
                "negative": _r(float((mood[has] > middle).mean())) if c else None,
                "positive": _r(float((mood[has] < middle).mean())) if c else None}

    themes = [{"theme_id": t, "theme": d.names[t], "code": d.codes.get(t), "net_id": d.net_of.get(t),
               **row(m[:, j])} for j, t in enumerate(d.theme_ids)]
    net_rows = [{"net_id": net_id, "net": name, "code": code, **row(nets[:, k])}
                for k, (net_id, name, code, _) in enumerate(d.nets)]
    ci = stats.bootstrap_drivers(mood.astype(float), m) if n else np.zeros((len(d.theme_ids), 4))
    pulls: list[dict[str, Any]] = []
    for j, t in enumerate(d.theme_ids):
        has = m[:, j]
        c = int(has.sum())
        if not 0 < c < n:
            continue
        impact = float(mood[has].mean() - mood[~has].mean())
        pulls.append({"theme_id": t, "theme": d.names[t], "count": c, "impact": _r(impact),
                      "impact_ci": [_r(ci[j][0]), _r(ci[j][1])],
                      "pulls": "down" if ci[j][0] > 0 else "up" if ci[j][1] < 0 else "unclear"})
    pulls.sort(key=lambda r: (-r["impact"], r["theme_id"]))
    return {"levels": {str(k): v for k, v in names.items()}, "respondents": n, "mean": _r(float(mood.mean())) if n
            else None, "themes": themes, "nets": net_rows, "drivers": pulls, "source": scope.source}


COOCCURRENCE_ALL_PAIRS = 200  # themes up to which every pair is listed (19,900 pairs); past it, pairs seen together


def cooccurrence(*, scope: InsightsScope, top: int = 15) -> dict:
    """Theme counts, pairwise co-occurrence counts with lift (past COOCCURRENCE_ALL_PAIRS themes only the pairs
    some respondent has together), and the commonest exact theme sets."""
    d = _data(scope)
    # A sparse product: a respondent carries one or two themes, and a dense one is slow both as integers (no
    # BLAS) and as floats (BLAS threads fighting for a busy machine's cores: seconds at 100,000 respondents).
    m = sparse.csr_matrix(d.matrix, dtype=np.int64)
    n = m.shape[0]
    counts = d.matrix.sum(axis=0)
    # The pairs read off the sparse product. A codeframe of up to COOCCURRENCE_ALL_PAIRS codes lists every pair
    # (never-together ones with a count of 0); a larger one only the pairs some respondent has together, so a
    # codeframe of thousands of codes no longer makes a dense codes x codes table and millions of pairs.
    both = sparse.triu(m.T @ m, k=1).todok()
    k = len(d.theme_ids)
    keys = combinations(range(k), 2) if k <= COOCCURRENCE_ALL_PAIRS else sorted(both.keys())
    pairs = []
    for a, b in keys:
        c = int(both.get((a, b), 0))
        pairs.append({"a": d.theme_ids[a], "b": d.theme_ids[b], "count": c,
                      "lift": _r(stats.lift(c, int(counts[a]), int(counts[b]), n))})
    # Exact theme sets counted as packed bit rows, so the cost is numpy's, not a loop over respondents; only the
    # sets that can make the top are decoded.
    coded = d.matrix[d.matrix.any(axis=1)] if d.theme_ids else np.zeros((0, 8), dtype=bool)
    packed = np.ascontiguousarray(np.packbits(coded, axis=1))
    unique, counts_of = np.unique(packed.view(f"V{packed.shape[1]}").ravel(), return_counts=True)
    floor = np.sort(counts_of)[-top] if len(counts_of) >= top else 0
    sets = [(tuple(np.flatnonzero(np.unpackbits(np.frombuffer(row.tobytes(), dtype=np.uint8))[:len(d.theme_ids)])
                   .tolist()), int(c)) for row, c in zip(unique, counts_of, strict=True) if c >= floor]
    combos = [{"themes": [d.theme_ids[j] for j in key], "names": [d.names[d.theme_ids[j]] for j in key], "count": c}
              for key, c in sorted(sets, key=lambda kv: (-kv[1], kv[0]))[:top]]
    return {"themes": [{"theme_id": t, "theme": d.names[t], "count": int(counts[j])}
                       for j, t in enumerate(d.theme_ids)], "pairs": pairs, "combinations": combos}


TREND_THEMES = 8  # lines the trends view draws unless others are picked: the commonest themes in scope
TREND_THEMES_MAX = 10  # at most this many picked, so each line keeps a colour of its own
MIN_BASE = 30  # a period with fewer respondents is flagged `low_base`: one respondent makes a share of 0 or 100%


def trends(*, scope: InsightsScope, period: str = "month", theme_ids: list[int] | None = None) -> dict:
    """Theme shares per week or month of scope.date_field, with each period's base (`respondents`) and a
    `low_base` flag where it is under MIN_BASE. `top_themes` are the TREND_THEMES commonest themes over the
    dated respondents; `shown_themes` the ones a chart draws: `theme_ids` when given, else the top themes."""
    if period not in ("week", "month"):
        raise ValidationError("period must be 'week' or 'month'.")
    if not scope.date_field:
        raise ValidationError("trends need date_field.")
    d = _data(scope)
    if theme_ids is not None:
        unknown = sorted(set(theme_ids) - set(d.theme_ids))
        if unknown:
            raise ValidationError(f"No live theme {unknown[0]} in this project.")
        if not 0 < len(theme_ids) <= TREND_THEMES_MAX:
            raise ValidationError(f"Pick 1 to {TREND_THEMES_MAX} themes for trends.")
    days = _days(d.table, scope.date_field)[d.rows]
    if period == "month":
        arr = np.datetime_as_string(days.astype("datetime64[M]"), unit="M")
    else:
        unique, at = np.unique(days, return_inverse=True)
        weeks = [date.fromisoformat(str(day)).isocalendar() for day in unique]
        arr = np.array([f"{w[0]}-W{w[1]:02d}" for w in weeks], dtype=object)[at]
    points = []
    for key, n, c in zip(*_counts_by(arr, d.matrix), strict=True):
        points.append({"period": key, "respondents": n, "low_base": n < MIN_BASE,
                       "themes": [{"theme_id": t, "count": int(c[j]), "share": _r(c[j] / n)}
                                  for j, t in enumerate(d.theme_ids)]})
    totals = d.matrix.sum(axis=0) if len(d.rows) else np.zeros(len(d.theme_ids), dtype=np.int64)
    top = [d.theme_ids[j] for j in sorted(range(len(d.theme_ids)), key=lambda j: (-int(totals[j]), d.theme_ids[j]))
           if totals[j] > 0][:TREND_THEMES]
    shown = list(dict.fromkeys(theme_ids)) if theme_ids is not None else top
    return {"period": period, "min_base": MIN_BASE, "top_themes": top,
            "shown_themes": [{"theme_id": t, "theme": d.names[t]} for t in shown], "points": points}


QUOTE_SAMPLE = 400  # members per theme whose vectors are read to find the typical ones


def quotes(*, scope: InsightsScope, theme_id: int | None = None, per_theme: int = 3) -> dict:
    """Pinned quotes and the responses closest to each theme's embedding centroid (of typical length while the
    project is not embedded). Large themes are represented by a seeded sample of QUOTE_SAMPLE members, so the
    view reads a bounded number of vectors however large the project is."""
    from labeling_app.modeling.selectors.embeddings import embedding_model_name

    if theme_id is not None:
        _theme_name(scope, theme_id)
    d = _data(scope)
    wanted = [j for j, t in enumerate(d.theme_ids) if theme_id is None or t == theme_id]
    samples: dict[int, np.ndarray] = {}
    for j in wanted:
        members = d.ids[d.matrix[:, j]]
        if len(members) > QUOTE_SAMPLE:
            members = np.sort(np.random.default_rng(d.theme_ids[j]).choice(members, QUOTE_SAMPLE, replace=False))
        samples[j] = members
    everyone = np.unique(np.concatenate(list(samples.values()))) if samples else np.zeros(0, dtype=np.int64)
    vectors: dict[int, np.ndarray] = {}
    for start in range(0, len(everyone), 5000):
        for rid, blob in ResponseEmbedding.objects.filter(
                response_id__in=everyone[start:start + 5000].tolist(), model_name=embedding_model_name(),
        ).values_list("response_id", "vector"):
            vectors[rid] = np.frombuffer(bytes(blob), dtype=np.float32)
    length_of = dict(zip(d.ids.tolist(), d.table.lengths[d.rows].tolist(), strict=True))
    chosen: dict[int, list[int]] = {}
    for j in wanted:
        embedded = [int(r) for r in samples[j] if r in vectors]
        if embedded:
            vecs = np.stack([vectors[r] for r in embedded])
            dist = np.linalg.norm(vecs - vecs.mean(axis=0), axis=1)
            chosen[j] = [embedded[int(k)] for k in np.argsort(dist, kind="stable")[:per_theme]]
        else:
            # Not embedded yet: the answers of the most typical length stand in for the closest to the centre.
            members = d.ids[d.matrix[:, j]].tolist()
            lengths = np.array([length_of[r] for r in members])
            median = float(np.median(lengths)) if len(lengths) else 0.0
            chosen[j] = [members[int(k)] for k in np.argsort(np.abs(lengths - median), kind="stable")[:per_theme]]
    texts = {r[0]: r for r in Response.objects.filter(id__in=[r for c in chosen.values() for r in c]).values_list(
        "id", "respondent_id", "text")}
    pins: dict[int, list[dict]] = {}
    for t, rid, respondent, text in QuotePin.objects.filter(project=scope.project).order_by("id").values_list(
            "theme_id", "response_id", "response__respondent_id", "response__text"):
        pins.setdefault(t, []).append({"id": rid, "respondent_id": respondent, "text": text})
    out = []
    for j in wanted:
        t = d.theme_ids[j]
        rep = [{"id": rid, "respondent_id": texts[rid][1], "text": texts[rid][2]} for rid in chosen[j]]
        out.append({"theme_id": t, "theme": d.names[t], "pinned": pins.get(t, []), "representative": rep})
    return {"themes": out}
