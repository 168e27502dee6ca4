"""Vega-Lite chart specs for the Insights views, built with Altair from the insights selectors' dicts.

Each builder takes one dict in the shape of the insights contract and returns a plain Vega-Lite dict
(``chart.to_dict()``), which the page renders with the vendored vega-embed and exports render with
vl-convert. Text (theme names, terms) goes in as data and is shown by Vega as text, never as HTML.

``insights_chart_spec`` reads one view through the insights selectors under a scope and builds its spec (the
page's chart endpoint and the chart files share it); ``chart_render`` draws a spec as PNG or SVG on the server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import altair as alt
from django.core.exceptions import ValidationError

from labeling_app.models import Project
from labeling_app.selectors import insights as sel

WIDTH = 560


EMPTY_WIDTH = 300  # fits a phone; the note is one line
NOTHING_TO_CHART = "Nothing to chart yet: no coded response in this selection."


def _spec(chart: Any) -> dict:
    # to_dict() validates against the Vega-Lite schema; a bad encoding fails here, not in the browser.
    spec = dict(chart.to_dict())
    return _empty_spec(spec) if _has_no_rows(spec) else spec


def _has_no_rows(spec: object) -> bool:
    """True when every inline data set of the spec is empty (an empty project, a filter nothing matches)."""
    found: list[list] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                found.append(data["values"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return bool(found) and not any(found)


def _empty_spec(spec: dict) -> dict:
    """A chart with no rows as a line of text under its title: axes over an empty domain read "0.000000%"."""
    note = alt.Chart(alt.Data(values=[{"note": NOTHING_TO_CHART}])).mark_text(
        fontSize=13, color="#666", align="left", x=0, y=20).encode(text="note:N")
    return dict(note.properties(width=EMPTY_WIDTH, height=40, title=spec.get("title", "")).to_dict())


def prevalence_chart(prevalence: dict) -> dict:
    """Themes ranked by share of respondents, with 95% Wilson intervals as error bars."""
    rows = [
        {"theme": t["theme"], "share": t["share"], "count": t["count"],
         "ci_low": t["ci_low"], "ci_high": t["ci_high"]}
        for t in prevalence.get("themes", [])
    ]
    order = [r["theme"] for r in rows]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("theme:N", sort=order, title=None),
    )
    bars = base.mark_bar(color="#3b6ea8").encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of respondents"),
        tooltip=[
            alt.Tooltip("theme:N", title="Theme"),
            alt.Tooltip("count:Q", title="Respondents"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
            alt.Tooltip("ci_low:Q", format=".1%", title="95% CI low"),
            alt.Tooltip("ci_high:Q", format=".1%", title="95% CI high"),
        ],
    )
    rules = base.mark_rule(color="#222").encode(x="ci_low:Q", x2="ci_high:Q")
    chart = (bars + rules).properties(
        width=WIDTH, height=alt.Step(18),
        title=f"Prevalence ({prevalence.get('respondents', 0)} respondents)",
    )
    return _spec(chart)


SEGMENT_THEMES = 12  # panels in the segments chart: the commonest themes (the table and API hold them all)


def segments_chart(prevalence: dict) -> dict:
    """Share per theme side by side for each segment value, for the commonest themes; significant differences
    are marked."""
    shown = {t["theme_id"] for t in prevalence.get("themes", [])[:SEGMENT_THEMES]}
    flagged = {
        (d["theme_id"], seg)
        for d in prevalence.get("differences", [])
        if d.get("significant")
        for seg in (d["segment_a"], d["segment_b"])
    }
    rows = []
    for seg in prevalence.get("segments", []):
        for t in seg["themes"]:
            if t["theme_id"] not in shown:
                continue
            rows.append({
                "segment": str(seg["segment"]), "theme": t["theme"], "share": t["share"],
                "count": t["count"], "ci_low": t["ci_low"], "ci_high": t["ci_high"],
                "respondents": seg["respondents"],
                "significant": "yes" if (t["theme_id"], seg["segment"]) in flagged else "no",
            })
    order = [t["theme"] for t in prevalence.get("themes", [])[:SEGMENT_THEMES]]
    # No data on the layers: the facet's data is split per theme; data on a layer would show every row in each panel.
    base = alt.Chart().encode(
        y=alt.Y("segment:N", title=None),
    )
    bars = base.mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share", stack=None),
        color=alt.Color("segment:N", legend=alt.Legend(title="Segment")),
        opacity=alt.Opacity("significant:N", scale=alt.Scale(domain=["yes", "no"], range=[1.0, 0.45]),
                            legend=alt.Legend(title="Significant difference")),
        tooltip=[
            alt.Tooltip("theme:N", title="Theme"), alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("count:Q", title="Count"), alt.Tooltip("respondents:Q", title="Respondents"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
            alt.Tooltip("significant:N", title="Significant (Holm)"),
        ],
    )
    rules = base.mark_rule(color="#222").encode(x="ci_low:Q", x2="ci_high:Q")
    chart = alt.layer(bars, rules).properties(width=WIDTH - 160).facet(
        data=alt.Data(values=rows),
        row=alt.Row("theme:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
    ).properties(title="Segments (faded: no significant difference)")
    return _spec(chart)


def terms_chart(terms: dict) -> dict:
    """Scattertext-style plot: term frequency (log x) against distinctiveness z (y)."""
    rows = [{"term": p["term"], "frequency": p["frequency"], "z": p["z"]} for p in terms.get("points", [])]
    chart = alt.Chart(alt.Data(values=rows)).mark_circle(size=40, opacity=0.7).encode(
        x=alt.X("frequency:Q", scale=alt.Scale(type="log"), title="Frequency (all responses)"),
        y=alt.Y("z:Q", title="Distinctiveness (z, weighted log-odds)"),
        color=alt.condition("datum.z > 1.96", alt.value("#c0392b"), alt.value("#7f8c8d")),
        tooltip=[alt.Tooltip("term:N", title="Term"), alt.Tooltip("frequency:Q", title="Frequency"),
                 alt.Tooltip("z:Q", format=".2f", title="z")],
    ).properties(width=WIDTH, height=320, title=f"Terms distinguishing “{terms.get('theme', '')}”")
    return _spec(chart)


def drivers_chart(drivers: dict) -> dict:
    """Contribution of each theme to the score (impact x prevalence), with bootstrap 95% intervals."""
    rows = [
        {"theme": t["theme"], "contribution": t["contribution"], "ci_low": t["contribution_ci"][0],
         "ci_high": t["contribution_ci"][1], "impact": t["impact"], "count": t["count"],
         "mean_with": t["mean_with"], "mean_without": t["mean_without"]}
        for t in drivers.get("themes", [])
    ]
    order = [r["theme"] for r in rows]
    base = alt.Chart(alt.Data(values=rows)).encode(y=alt.Y("theme:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("contribution:Q", title=f"Contribution to mean {drivers.get('score', '')}"),
        color=alt.condition("datum.contribution < 0", alt.value("#c0392b"), alt.value("#27ae60")),
        tooltip=[
            alt.Tooltip("theme:N", title="Theme"), alt.Tooltip("count:Q", title="Respondents"),
            alt.Tooltip("mean_with:Q", format=".2f", title="Mean with"),
            alt.Tooltip("mean_without:Q", format=".2f", title="Mean without"),
            alt.Tooltip("impact:Q", format=".2f", title="Impact"),
            alt.Tooltip("contribution:Q", format=".3f", title="Contribution"),
        ],
    )
    rules = base.mark_rule(color="#222").encode(x="ci_low:Q", x2="ci_high:Q")
    chart = (bars + rules).properties(
        width=WIDTH, height=alt.Step(18),
        title=f"Drivers of {drivers.get('score', '')} (mean {drivers.get('mean', 0):.2f}, "
              f"{drivers.get('respondents', 0)} respondents)",
    )
    return _spec(chart)


COOCCURRENCE_THEMES = 20  # rows and columns of the heatmap: the commonest themes (the table and API hold all)


def cooccurrence_chart(cooccurrence: dict) -> dict:
    """Heatmap of the commonest themes' pairs coloured by lift (1 = independent), counts in the tooltip.

    Pairs never seen together are left blank: their lift of 0 would otherwise be the darkest cell and draw
    the eye to what is absent.
    """
    themes = sorted(cooccurrence.get("themes", []), key=lambda t: -t["count"])[:COOCCURRENCE_THEMES]
    names = {t["theme_id"]: t["theme"] for t in themes}
    rows = []
    for p in cooccurrence.get("pairs", []):
        if p["count"] == 0 or p["a"] not in names or p["b"] not in names:
            continue
        a, b = names[p["a"]], names[p["b"]]
        # Both halves of the matrix, so the heatmap reads the same from either axis.
        rows.append({"a": a, "b": b, "count": p["count"], "lift": p["lift"]})
        rows.append({"a": b, "b": a, "count": p["count"], "lift": p["lift"]})
    order = [t["theme"] for t in themes]
    shown = f"{len(themes)} commonest themes" if len(cooccurrence.get("themes", [])) > len(themes) else "themes"
    chart = alt.Chart(alt.Data(values=rows)).mark_rect().encode(
        x=alt.X("a:N", sort=order, scale=alt.Scale(domain=order), title=None,
                axis=alt.Axis(labelAngle=-40, labelLimit=140)),
        y=alt.Y("b:N", sort=order, scale=alt.Scale(domain=order), title=None, axis=alt.Axis(labelLimit=160)),
        color=alt.Color("lift:Q", scale=alt.Scale(scheme="redblue", domainMid=1, reverse=True), title="Lift"),
        tooltip=[alt.Tooltip("a:N", title="Theme"), alt.Tooltip("b:N", title="With"),
                 alt.Tooltip("count:Q", title="Both"), alt.Tooltip("lift:Q", format=".2f", title="Lift")],
    ).properties(width=alt.Step(22), height=alt.Step(22),
                 title=f"Co-occurrence (lift), {shown}; blank: never together")
    return _spec(chart)


def combinations_chart(cooccurrence: dict) -> dict:
    """UpSet-style view: bars for the commonest exact theme sets above a dot matrix of their members."""
    combos = cooccurrence.get("combinations", [])
    themes = [t["theme"] for t in cooccurrence.get("themes", [])]
    for c in combos:
        for n in c["names"]:
            if n not in themes:
                themes.append(n)
    bars_rows, dot_rows = [], []
    for i, c in enumerate(combos):
        label = f"#{i + 1}"
        bars_rows.append({"set": label, "count": c["count"], "names": " + ".join(c["names"])})
        members = set(c["names"])
        for n in themes:
            dot_rows.append({"set": label, "theme": n, "member": n in members})
    order = [f"#{i + 1}" for i in range(len(combos))]
    x = alt.X("set:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False))
    bars = alt.Chart(alt.Data(values=bars_rows)).mark_bar(color="#3b6ea8").encode(
        x=x, y=alt.Y("count:Q", title="Respondents"),
        tooltip=[alt.Tooltip("names:N", title="Themes"), alt.Tooltip("count:Q", title="Respondents")],
    ).properties(width=alt.Step(24), height=160)
    dots = alt.Chart(alt.Data(values=dot_rows)).mark_circle(size=90).encode(
        x=x, y=alt.Y("theme:N", sort=themes, title=None),
        color=alt.condition("datum.member", alt.value("#222"), alt.value("#ddd")),
        tooltip=[alt.Tooltip("theme:N", title="Theme"), alt.Tooltip("member:N", title="In set")],
    ).properties(width=alt.Step(24))
    chart = alt.vconcat(bars, dots, spacing=4).properties(title="Commonest theme combinations")
    return _spec(chart)


def trends_chart(trends: dict, theme_names: dict[int, str] | None = None) -> dict:
    """Share of respondents per theme over time (one line per theme).

    Trend points carry theme ids only; ``theme_names`` (id -> name, e.g. from prevalence) labels the lines.
    """
    names = theme_names or {}
    rows = []
    for p in trends.get("points", []):
        for t in p["themes"]:
            rows.append({"period": p["period"], "theme": t.get("theme") or names.get(t["theme_id"], str(t["theme_id"])),
                         "share": t["share"], "count": t["count"], "respondents": p["respondents"]})
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("period:O", title=trends.get("period", "month").capitalize()),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="Share of respondents"),
        color=alt.Color("theme:N", title="Theme"),
        tooltip=[alt.Tooltip("period:O", title="Period"), alt.Tooltip("theme:N", title="Theme"),
                 alt.Tooltip("count:Q", title="Count"), alt.Tooltip("respondents:Q", title="Respondents"),
                 alt.Tooltip("share:Q", format=".1%", title="Share")],
    ).properties(width=WIDTH, height=260, title="Trends")
    return _spec(chart)


CHART_VIEWS = ("prevalence", "segments", "terms", "drivers", "cooccurrence", "combinations", "trends")
CHART_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}  # format -> content type
SEGMENT_VALUES = range(2, 9)  # a column with 2-8 values makes a readable comparison when none is named


def insights_default_column(*, project: Project, kind: str) -> str | None:
    """The column a view uses when none is named: the first "segment" (a category column with 2-8 values),
    "number" (a score for drivers) or "date" column of the project's metadata; None when there is none."""
    for column in sel.metadata_columns(project=project):
        if kind == "segment" and column["kind"] == "category" and len(column["values"]) in SEGMENT_VALUES:
            return str(column["key"])
        if kind != "segment" and column["kind"] == kind:
            return str(column["key"])
    return None


def insights_dated_scope(scope: sel.InsightsScope) -> sel.InsightsScope:
    """The scope with a date column for trends: its own, else the project's first; ValidationError without one."""
    if scope.date_field:
        return scope
    field = insights_default_column(project=scope.project, kind="date")
    if field is None:
        raise ValidationError("trends need date_field=<a date column>; this project's metadata has none.")
    return dataclasses.replace(scope, date_field=field)


def _theme_param(params: Mapping[str, str]) -> int:
    raw = params.get("theme") or ""
    # ASCII digits within a database id only: "²" passes isdigit() but not int(), 20 digits overflow a bigint.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) < 2**63):
        raise ValidationError("Choose a theme: theme=<theme id> is required for the terms chart.")
    return int(raw)


def insights_chart_spec(*, scope: sel.InsightsScope, view: str, params: Mapping[str, str]) -> dict:
    """One insights view's Vega-Lite spec under the scope, with the view's own parameters: ``theme`` (terms),
    ``segment`` (segments; the first 2-8-valued category column when absent), ``score`` (drivers; the first
    numeric column when absent), ``period`` (trends, over the scope's date column or the first one).

    Raises ValidationError for an unknown view or a bad parameter.
    """
    if view == "prevalence":
        return prevalence_chart(sel.prevalence(scope=scope))
    if view == "segments":
        segment = params.get("segment") or insights_default_column(project=scope.project, kind="segment")
        return segments_chart(sel.prevalence(scope=scope, segment=segment))
    if view == "terms":
        return terms_chart(sel.terms(scope=scope, theme_id=_theme_param(params)))
    if view == "drivers":
        score = params.get("score") or insights_default_column(project=scope.project, kind="number")
        if not score:
            raise ValidationError("drivers need score=<a numeric column>; this project's metadata has none.")
        return drivers_chart(sel.drivers(scope=scope, score=score))
    if view == "cooccurrence":
        return cooccurrence_chart(sel.cooccurrence(scope=scope))
    if view == "combinations":
        return combinations_chart(sel.cooccurrence(scope=scope))
    if view == "trends":
        dated = insights_dated_scope(scope)
        names = {t["theme_id"]: t["theme"] for t in sel.prevalence(scope=dated)["themes"]}
        return trends_chart(sel.trends(scope=dated, period=params.get("period") or "month"), names)
    raise ValidationError(f"unknown chart {view!r}; choose one of {', '.join(CHART_VIEWS)}.")


def chart_render(spec: dict, fmt: str) -> bytes:
    """A Vega-Lite spec drawn on the server by vl-convert (no browser, no network): PNG (2x scale) or SVG bytes."""
    import vl_convert  # loads a JavaScript engine: only when a chart is drawn

    if fmt == "svg":
        return str(vl_convert.vegalite_to_svg(spec)).encode("utf-8")
    if fmt == "png":
        return bytes(vl_convert.vegalite_to_png(spec, scale=2))
    raise ValidationError(f"unknown chart format {fmt!r}; choose one of {', '.join(CHART_FORMATS)}.")
