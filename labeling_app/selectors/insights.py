"""Read side of the insights views (issue 10): who said what, by theme, under the analyst's filters.

Labels come from resolved human codings (source="human"), optionally topped up with the current model's
predictions for responses no human has resolved (source="model"). Counting is done with numpy over a
respondent x theme boolean matrix, never row-by-row over dicts.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from labeling_app.models import ModelVersion, Project, QuotePin, Response
from labeling_app.selectors.consensus import codings_read, consensus_of
from labeling_app.selectors.predictions import predictions_current
from ml import insights as stats
from ml.language import log_odds_for_texts


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
    """Parses source, meta=KEY:VALUE (repeatable), date_field, date_from, date_to; ValidationError on bad values."""
    source = _one(params, "source") or "human"
    if source not in ("human", "model"):
        raise ValidationError("source must be 'human' or 'model'.")
    raw_meta = params.get("meta", [])
    metas = [raw_meta] if isinstance(raw_meta, str) else list(raw_meta)
    meta: list[tuple[str, str]] = []
    for item in metas:
        if ":" not in item:
            raise ValidationError(f"meta must be KEY:VALUE, not {item!r}.")
        k, v = item.split(":", 1)
        meta.append((k, v))
    date_field = _one(params, "date_field")
    date_from = _date(_one(params, "date_from"), "date_from")
    date_to = _date(_one(params, "date_to"), "date_to")
    if (date_from or date_to) and not date_field:
        raise ValidationError("date_from and date_to need date_field.")
    columns = {c["key"]: c["kind"] for c in metadata_columns(project=project)}
    for k, _ in meta:
        if k not in columns:
            raise ValidationError(f"Unknown metadata column {k!r}.")
    if date_field and columns.get(date_field) != "date":
        raise ValidationError(f"{date_field!r} is not a date column.")
    if date_from and date_to and date_from > date_to:
        raise ValidationError("date_from is after date_to.")
    return InsightsScope(project=project, source=source, meta=tuple(meta), date_field=date_field,
                         date_from=date_from, date_to=date_to)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


def _kind(values: list[str]) -> str:
    vals = [v for v in values if v != ""]
    if vals and all(_DATE.match(v) for v in vals):
        return "date"
    try:
        [float(v) for v in vals]
        return "number" if vals else "category"
    except ValueError:
        return "category"


def metadata_columns(*, project: Project) -> list[dict]:
    """The metadata columns of the project's responses with their kind and, for categories, up to 50 values."""
    seen: dict[str, Counter[str]] = {}
    for md in Response.objects.filter(project=project).values_list("metadata", flat=True).iterator(2000):
        for k, v in (md or {}).items():
            seen.setdefault(k, Counter())[str(v)] += 1
    out = []
    for key in sorted(seen):
        kind = _kind(list(seen[key]))
        out.append({"key": key, "kind": kind,
                    "values": sorted(seen[key])[:50] if kind == "category" else []})
    return out


@dataclass
class _Data:
    ids: np.ndarray  # (n,) response ids in scope that carry labels
    metadata: list[dict]
    theme_ids: list[int]
    names: dict[int, str]
    matrix: np.ndarray  # (n, k) bool
    estimates: int
    model_version: int | None


def _in_scope(scope: InsightsScope, md: dict) -> bool:
    for k, v in scope.meta:
        if str(md.get(k, "")) != v:
            return False
    if scope.date_field:
        raw = str(md.get(scope.date_field, ""))[:10]
        try:
            d = date.fromisoformat(raw)
        except ValueError:
            return False
        if (scope.date_from and d < scope.date_from) or (scope.date_to and d > scope.date_to):
            return False
    return True


def _data(scope: InsightsScope) -> _Data:
    project = scope.project
    themes = list(project.themes.filter(archived=False).order_by("order", "id").values_list("id", "name"))
    theme_ids = [t for t, _ in themes]
    col = {t: j for j, t in enumerate(theme_ids)}
    labels: dict[int, frozenset[int]] = dict(consensus_of(codings_read(project=project)).resolved)
    estimates = 0
    version_number = None
    if scope.source == "model":
        preds = predictions_current(project=project)
        if preds is not None and project.current_model_id is not None:
            version_number = ModelVersion.objects.filter(pk=project.current_model_id).values_list(
                "number", flat=True).first()
            above = preds.probabilities >= preds.thresholds[None, :]
            for i, rid in enumerate(preds.response_ids.tolist()):
                if rid in labels:
                    continue
                labels[rid] = frozenset(preds.theme_ids[j] for j in np.flatnonzero(above[i]))
                estimates += 1
    rows = Response.objects.filter(project=project, id__in=list(labels)).values_list("id", "metadata")
    ids, metadata = [], []
    for rid, md in rows.iterator(2000):
        if _in_scope(scope, md or {}):
            ids.append(rid)
            metadata.append(md or {})
    matrix = np.zeros((len(ids), len(theme_ids)), dtype=bool)
    for i, rid in enumerate(ids):
        for t in labels[rid]:
            if t in col:
                matrix[i, col[t]] = True
    return _Data(np.array(ids, dtype=np.int64), metadata, theme_ids, dict(themes), matrix, estimates, version_number)


def insights_source_info(*, scope: InsightsScope) -> dict:
    """Which labels the views count: the source, the model version and its micro-F1, and how many are estimates."""
    d = _data(scope)
    f1 = None
    if scope.source == "model" and scope.project.current_model_id:
        f1 = ModelVersion.objects.filter(pk=scope.project.current_model_id).values_list("micro_f1", flat=True).first()
    return {"source": scope.source, "model_version": d.model_version,
            "model_micro_f1": None if f1 is None else _r(f1), "estimates": d.estimates}


def _theme_rows(d: _Data, mask: np.ndarray | None = None) -> tuple[int, list[dict]]:
    m = d.matrix if mask is None else d.matrix[mask]
    n = m.shape[0]
    counts = m.sum(axis=0)
    rows: list[dict[str, Any]] = []
    for j, t in enumerate(d.theme_ids):
        c = int(counts[j])
        lo, hi = stats.wilson_interval(c, n)
        rows.append({"theme": d.names[t], "theme_id": t, "count": c, "share": _r(c / n if n else 0.0),
                     "ci_low": _r(lo), "ci_high": _r(hi)})
    rows.sort(key=lambda r: (-r["share"], r["theme_id"]))
    return n, rows


def _segment_value(md: dict, key: str, is_date: bool) -> str:
    v = str(md.get(key, ""))
    return v[:7] if is_date else v


def prevalence(*, scope: InsightsScope, segment: str | None = None) -> dict:
    """Share of respondents mentioning each theme with a 95% Wilson interval; by segment with Holm-corrected
    two-proportion z-tests between every pair of segments."""
    d = _data(scope)
    n, rows = _theme_rows(d)
    out: dict = {"respondents": n, "source": scope.source, "model_version": d.model_version, "themes": rows}
    if segment:
        kinds = {c["key"]: c["kind"] for c in metadata_columns(project=scope.project)}
        if segment not in kinds:
            raise ValidationError(f"Unknown metadata column {segment!r}.")
        values = np.array([_segment_value(md, segment, kinds[segment] == "date") for md in d.metadata])
        segs = []
        per: dict[str, tuple[int, np.ndarray]] = {}
        for value in sorted(set(values.tolist())):
            mask = values == value
            sn, srows = _theme_rows(d, mask)
            segs.append({"segment": value, "respondents": sn, "themes": srows})
            per[value] = (sn, d.matrix[mask].sum(axis=0))
        tests: list[dict[str, Any]] = []
        for a, b in combinations(sorted(per), 2):
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
    texts = dict(Response.objects.filter(id__in=d.ids.tolist()).values_list("id", "text"))
    tin = [texts[i] for i in d.ids[has].tolist()]
    tout = [texts[i] for i in d.ids[~has].tolist()]
    rows = log_odds_for_texts(tin, tout)
    for r in rows:
        r["z"], r["delta"] = _r(r["z"]), _r(r["delta"])
    points = sorted(rows, key=lambda r: -(r["count_in"] + r["count_out"]))[:400]
    return {"theme_id": theme_id, "theme": name, "terms": rows[:limit],
            "points": [{"term": r["term"], "frequency": r["count_in"] + r["count_out"], "z": r["z"]} for r in points]}


def term_responses(*, scope: InsightsScope, theme_id: int | None, term: str, limit: int = 50) -> dict:
    """Responses in scope (of the theme, if given) that contain the term, with where it occurs."""
    d = _data(scope)
    ids = d.ids
    if theme_id is not None:
        _theme_name(scope, theme_id)
        ids = ids[d.matrix[:, d.theme_ids.index(theme_id)]] if theme_id in d.theme_ids else ids[:0]
    pattern = re.compile(r"(?<![a-z0-9'])" + r"\W+".join(map(re.escape, term.lower().split())) + r"(?![a-z0-9'])")
    out = []
    for rid, resp_id, text in Response.objects.filter(id__in=ids.tolist()).order_by("id").values_list(
            "id", "respondent_id", "text").iterator(2000):
        spans = [[m.start(), m.end()] for m in pattern.finditer(text.lower())]
        if spans:
            out.append({"id": rid, "respondent_id": resp_id, "text": text, "spans": spans})
            if len(out) >= limit:
                break
    return {"term": term, "responses": out}


def drivers(*, scope: InsightsScope, score: str) -> dict:
    """Key drivers of a numeric score: each theme's impact (mean with - without) and contribution
    (impact x prevalence), with seeded bootstrap 95% intervals."""
    kinds = {c["key"]: c["kind"] for c in metadata_columns(project=scope.project)}
    if kinds.get(score) != "number":
        raise ValidationError(f"{score!r} is not a numeric metadata column.")
    d = _data(scope)
    raw = [md.get(score, "") for md in d.metadata]
    keep = np.array([str(v) != "" for v in raw], dtype=bool)
    scores = np.array([float(v) if str(v) != "" else np.nan for v in raw], dtype=float)[keep]
    m = d.matrix[keep]
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
                     "contribution": _r(impact * c / n if n else 0.0), "contribution_ci": [_r(cl), _r(ch)]})
    rows.sort(key=lambda r: (r["contribution"], r["theme_id"]))
    return {"score": score, "mean": _r(scores.mean() if n else 0.0), "respondents": n, "themes": rows}


def cooccurrence(*, scope: InsightsScope, top: int = 15) -> dict:
    """Theme counts, pairwise co-occurrence counts with lift, and the commonest exact theme sets."""
    d = _data(scope)
    m = d.matrix.astype(np.int64)
    n = m.shape[0]
    counts = m.sum(axis=0)
    both = m.T @ m
    pairs = []
    for a, b in combinations(range(len(d.theme_ids)), 2):
        pairs.append({"a": d.theme_ids[a], "b": d.theme_ids[b], "count": int(both[a, b]),
                      "lift": _r(stats.lift(int(both[a, b]), int(counts[a]), int(counts[b]), n))})
    sets = Counter(tuple(np.flatnonzero(row).tolist()) for row in d.matrix if row.any())
    combos = [{"themes": [d.theme_ids[j] for j in key], "names": [d.names[d.theme_ids[j]] for j in key], "count": c}
              for key, c in sorted(sets.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    return {"themes": [{"theme_id": t, "theme": d.names[t], "count": int(counts[j])}
                       for j, t in enumerate(d.theme_ids)], "pairs": pairs, "combinations": combos}


def trends(*, scope: InsightsScope, period: str = "month") -> dict:
    """Theme shares per week or month of scope.date_field."""
    if period not in ("week", "month"):
        raise ValidationError("period must be 'week' or 'month'.")
    if not scope.date_field:
        raise ValidationError("trends need date_field.")
    d = _data(scope)
    keys = []
    for md in d.metadata:
        day = date.fromisoformat(str(md.get(scope.date_field, ""))[:10])
        if period == "month":
            keys.append(day.strftime("%Y-%m"))
        else:
            iso = day.isocalendar()
            keys.append(f"{iso[0]}-W{iso[1]:02d}")
    arr = np.array(keys)
    points = []
    for key in sorted(set(keys)):
        mask = arr == key
        n = int(mask.sum())
        c = d.matrix[mask].sum(axis=0)
        points.append({"period": key, "respondents": n,
                       "themes": [{"theme_id": t, "count": int(c[j]), "share": _r(c[j] / n)}
                                  for j, t in enumerate(d.theme_ids)]})
    return {"period": period, "points": points}


def quotes(*, scope: InsightsScope, theme_id: int | None = None, per_theme: int = 3) -> dict:
    """Pinned quotes and the responses closest to each theme's embedding centroid (of typical length while the
    project is not embedded)."""
    from labeling_app.services.embeddings import embedding_matrix  # a read of stored vectors

    if theme_id is not None:
        _theme_name(scope, theme_id)
    d = _data(scope)
    emb_ids, emb = embedding_matrix(project=scope.project)
    row_of = {rid: i for i, rid in enumerate(emb_ids)}
    texts = {r[0]: r for r in Response.objects.filter(id__in=d.ids.tolist()).values_list(
        "id", "respondent_id", "text")}
    out = []
    for j, t in enumerate(d.theme_ids):
        if theme_id is not None and t != theme_id:
            continue
        pins = [{"id": p[0], "respondent_id": p[1], "text": p[2]} for p in QuotePin.objects.filter(
            project=scope.project, theme_id=t).values_list("response_id", "response__respondent_id", "response__text")]
        everyone = d.ids[d.matrix[:, j]].tolist()
        members = [rid for rid in everyone if rid in row_of]
        if members and len(emb):
            vecs = emb[[row_of[r] for r in members]]
            dist = np.linalg.norm(vecs - vecs.mean(axis=0), axis=1)
            chosen = [members[int(k)] for k in np.argsort(dist, kind="stable")[:per_theme]]
        else:
            # Not embedded yet: the answers of the most typical length stand in for the closest to the centre.
            lengths = np.array([len(texts[rid][2]) for rid in everyone])
            median = float(np.median(lengths)) if len(lengths) else 0.0
            chosen = [everyone[int(k)] for k in np.argsort(np.abs(lengths - median), kind="stable")[:per_theme]]
        rep = [{"id": rid, "respondent_id": texts[rid][1], "text": texts[rid][2]} for rid in chosen]
        out.append({"theme_id": t, "theme": d.names[t], "pinned": pins, "representative": rep})
    return {"themes": out}
