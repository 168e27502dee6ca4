"""Vega-Lite chart specs for the Insights views, built with Altair from the insights selectors' dicts.

Each builder takes one dict in the shape of the insights contract and returns a plain Vega-Lite dict
(``chart.to_dict()``), which the page renders with the vendored vega-embed and exports render with
vl-convert. Text (theme names, terms) goes in as data and is shown by Vega as text, never as HTML.

``insights_chart_spec`` reads one view through the insights selectors under a scope and builds its spec (the
page's chart endpoint and the chart files share it); ``chart_render`` draws a spec as PNG or SVG on the server (in
a render process of chart_pool in the web server).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

import altair as alt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from labeling_app.insights.selectors import insights as sel
from labeling_app.insights.services.chart_draw import chart_draw
from labeling_app.insights.services.chart_pool import chart_pool_render
from labeling_app.projects.models import Project

WIDTH = 560


EMPTY_WIDTH = 300  # fits a phone; the note is one line
NOTHING_TO_CHART = "Nothing to chart yet: no coded response in this selection."


@dataclasses.dataclass(frozen=True)
class ChartFit:
    """How much room the page has for a chart (`available` px, the chart's box; None for files and reports,
    drawn at full size): on a phone the plots narrow and long labels are cut sooner, instead of the chart
    running off the screen."""

    available: int | None = None

    @property
    def narrow(self) -> bool:
        return self.available is not None and self.available < 700

    @property
    def labels(self) -> int:
        return 110 if self.narrow else 180

    def plot(self, reserve: int, cap: int = WIDTH) -> int:
        """The plot's width once `reserve` px of labels and legends are set aside, at most `cap`."""
        return cap if self.available is None else max(140, min(cap, self.available - reserve))


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


def _title(parts: list[str], fit: ChartFit) -> Any:
    """A title on one line, or on a phone one line per part."""
    return alt.Title(parts, anchor="start") if fit.narrow else " ".join(parts)


NET_PREFIX = "NET "  # a net's row label: "NET Staff" (counted once per respondent, whatever its codes)


def prevalence_rows_by_net(prevalence: dict) -> list[dict]:
    """Prevalence rows as a codeframe reads: each net (largest first) above its codes (largest first), then the
    codes under no net. Each row: label, kind ("net" or "code"), count, share, interval. Without nets: the codes
    by share, as before."""
    themes = prevalence.get("themes", [])
    nets = sorted(prevalence.get("nets", []), key=lambda n: (-n["share"], n["code"]))

    def row(t: dict, label: str, kind: str) -> dict:
        return {"label": label, "kind": kind, "count": t["count"], "share": t["share"], "ci_low": t["ci_low"],
                "ci_high": t["ci_high"], "code": t.get("code"), "id": t.get("net_id" if kind == "net" else "theme_id")}

    out: list[dict] = []
    placed: set[int] = set()
    for net in nets:
        out.append(row(net, NET_PREFIX + net["net"], "net"))
        members = set(net["theme_ids"])
        out += [row(t, t["theme"], "code") for t in themes if t["theme_id"] in members]
        placed |= members
    out += [row(t, t["theme"], "code") for t in themes if t["theme_id"] not in placed]
    return out


def prevalence_chart_build(prevalence: dict, fit: ChartFit | None = None) -> dict:
    """Themes ranked by share of respondents, with 95% Wilson intervals as error bars."""
    fit = fit or ChartFit()
    rows = [
        {"theme": r["label"], "share": r["share"], "count": r["count"], "ci_low": r["ci_low"],
         "ci_high": r["ci_high"], "kind": r["kind"]}
        for r in prevalence_rows_by_net(prevalence)
    ]
    order = [r["theme"] for r in rows]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("theme:N", sort=order, title=None, axis=alt.Axis(labelLimit=fit.labels)),
    )
    bars = base.mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of respondents"),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["net", "code"], range=["#1f3f66", "#3b6ea8"]),
                        legend=None),
        tooltip=[
            alt.Tooltip("theme:N", title="Net or code"),
            alt.Tooltip("count:Q", title="Respondents"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
            alt.Tooltip("ci_low:Q", format=".1%", title="95% CI low"),
            alt.Tooltip("ci_high:Q", format=".1%", title="95% CI high"),
        ],
    )
    rules = base.mark_rule(color="#222").encode(x="ci_low:Q", x2="ci_high:Q")
    chart = (bars + rules).properties(
        width=fit.plot(fit.labels + 40), height=alt.Step(18),
        title=f"Prevalence ({prevalence.get('respondents', 0)} respondents)",
    )
    return _spec(chart)


SEGMENT_THEMES = 12  # panels in the segments chart: the commonest themes (the table and API hold them all)
# Bars per panel: every segment prevalence compares (the SEGMENTS_MAX largest values and the "(other)" group of the
# rest; a column of 200 values would draw a 10,000 px chart).
SEGMENT_BARS = sel.SEGMENTS_MAX + 1


def segments_chart_build(prevalence: dict, fit: ChartFit | None = None) -> dict:
    """Share per theme side by side for each segment value, for the commonest themes; significant differences
    are marked."""
    fit = fit or ChartFit()
    shown = {t["theme_id"] for t in prevalence.get("themes", [])[:SEGMENT_THEMES]}
    segments = prevalence.get("segments", [])
    largest = {s["segment"] for s in sorted(segments, key=lambda s: -s["respondents"])[:SEGMENT_BARS]}
    flagged = {
        (d["theme_id"], seg)
        for d in prevalence.get("differences", [])
        if d.get("significant")
        for seg in (d["segment_a"], d["segment_b"])
    }
    rows = []
    for seg in segments:
        if seg["segment"] not in largest:
            continue
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
        y=alt.Y("segment:N", title=None, axis=alt.Axis(labelLimit=90 if fit.narrow else 180)),
    )
    legend_at: Literal["bottom", "right"] = "bottom" if fit.narrow else "right"
    bars = base.mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share", stack=None),
        color=alt.Color("segment:N", legend=alt.Legend(title="Segment", orient=legend_at)),
        opacity=alt.Opacity("significant:N", scale=alt.Scale(domain=["yes", "no"], range=[1.0, 0.45]),
                            legend=alt.Legend(title="Significant difference", orient=legend_at)),
        tooltip=[
            alt.Tooltip("theme:N", title="Theme"), alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("count:Q", title="Count"), alt.Tooltip("respondents:Q", title="Respondents"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
            alt.Tooltip("significant:N", title="Significant (Holm)"),
        ],
    )
    rules = base.mark_rule(color="#222").encode(x="ci_low:Q", x2="ci_high:Q")
    # On a phone each theme's name sits above its panel rather than beside it.
    panel = fit.plot(100 if fit.narrow else fit.labels + 300, cap=WIDTH - 160)
    header = (alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start", labelLimit=panel + 60)
              if fit.narrow else alt.Header(labelAngle=0, labelAlign="left"))
    chart = alt.layer(bars, rules).properties(width=panel).facet(
        data=alt.Data(values=rows),
        row=alt.Row("theme:N", sort=order, title=None, header=header),
    ).properties(title="Segments (faded: no significant difference)" + (
        f"; the {len(largest)} largest of {len(segments)} segments" if len(segments) > len(largest) else "")
        + (f"; {segments_grouped_note(prevalence['grouped'])}" if prevalence.get("grouped") else ""))
    return _spec(chart)


def segments_grouped_note(grouped: dict) -> str:
    """What a chart or sheet says when a column had more values than are compared (prevalence's `grouped`)."""
    return (f"{grouped['other_values']:,} smaller values grouped as {grouped['segment']} "
            f"({grouped['respondents']:,} respondents)")


TERM_LABELS = 15  # points labelled with their words: the most distinctive terms of the theme


def _term_labels(rows: list[dict], width: int = WIDTH, height: int = 320) -> set[str]:
    """The terms to write beside their points: the most distinctive (z > 0) first, skipping one whose label would
    sit on a label already placed (positions estimated on the chart's log-x and linear-y scales)."""
    if not rows:
        return set()
    logs = [math.log10(max(r["frequency"], 1)) for r in rows]
    zs = [r["z"] for r in rows]
    x_span, z_span = (max(logs) - min(logs)) or 1.0, (max(zs) - min(zs)) or 1.0
    placed: list[tuple[float, float, float]] = []  # left x, y, right x of each label in pixels
    chosen: set[str] = set()
    for r, lx in sorted(zip(rows, logs, strict=True), key=lambda p: -p[0]["z"]):
        if len(chosen) >= TERM_LABELS or r["z"] <= 0:
            break
        x = (lx - min(logs)) / x_span * width + 6
        y = (max(zs) - r["z"]) / z_span * height
        right = x + 6.5 * len(r["term"])
        if all(abs(y - py) >= 13 or right < px or x > pright for px, py, pright in placed):
            placed.append((x, y, right))
            chosen.add(r["term"])
    return chosen


def terms_chart_build(terms: dict, fit: ChartFit | None = None) -> dict:
    """Scattertext-style plot: term frequency (log x) against distinctiveness z (y), the most distinctive
    points labelled with their words (a downloaded chart has no tooltips to hover)."""
    rows = [{"term": p["term"], "frequency": p["frequency"], "z": p["z"]} for p in terms.get("points", [])]
    fit = fit or ChartFit()
    width = fit.plot(140 if fit.narrow else 80)  # on a phone, room for the words of the right-most points
    labelled = _term_labels(rows, width)
    for r in rows:
        r["label"] = r["term"] if r["term"] in labelled else ""
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("frequency:Q", scale=alt.Scale(type="log"), title="Frequency (all responses)"),
        y=alt.Y("z:Q", title="Distinctiveness (z, weighted log-odds)"),
    )
    points = base.mark_circle(size=40, opacity=0.7).encode(
        color=alt.condition("datum.z > 1.96", alt.value("#c0392b"), alt.value("#7f8c8d")),
        tooltip=[alt.Tooltip("term:N", title="Term"), alt.Tooltip("frequency:Q", title="Frequency"),
                 alt.Tooltip("z:Q", format=".2f", title="z")],
    )
    words = base.mark_text(align="left", baseline="middle", dx=6, fontSize=11, color="#222").encode(
        text=alt.Text("label:N"))
    chart = alt.layer(points, words).properties(
        width=width, height=320,
        title=alt.Title(["Terms distinguishing", f"“{terms.get('theme', '')}”"], limit=width + 60)
        if fit.narrow else f"Terms distinguishing “{terms.get('theme', '')}”")
    return _spec(chart)


EFFECT_COLOURS = {"better": "#27ae60", "worse": "#c0392b", "none": "#95a5a6"}
EFFECT_WORDS = {"better": "makes it better", "worse": "makes it worse", "none": "no difference"}


def drivers_chart_build(drivers: dict, fit: ChartFit | None = None) -> dict:
    """Contribution of each theme to the score (impact x prevalence), with bootstrap 95% intervals, coloured by
    whether the theme makes the outcome better or worse: through the score's direction, so on a scale where
    1 is very good a theme that raises the score is red."""
    higher = drivers.get("higher_is_better", True)
    fit = fit or ChartFit()

    def effect(t: dict) -> str:
        if "effect" in t:
            return str(t["effect"])
        return "none" if not t["impact"] else "better" if (t["impact"] > 0) == higher else "worse"

    rows = [
        {"theme": t["theme"], "contribution": t["contribution"], "ci_low": t["contribution_ci"][0],
         "ci_high": t["contribution_ci"][1], "impact": t["impact"], "count": t["count"],
         "mean_with": t["mean_with"], "mean_without": t["mean_without"], "effect": EFFECT_WORDS[effect(t)]}
        for t in drivers.get("themes", [])
    ]
    order = [r["theme"] for r in rows]
    axis_title = [f"Contribution to mean {drivers.get('score', '')}", f"({'higher' if higher else 'lower'} is better)"]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("theme:N", sort=order, title=None, axis=alt.Axis(labelLimit=fit.labels)))
    bars = base.mark_bar().encode(
        x=alt.X("contribution:Q", title=axis_title if fit.narrow else " ".join(axis_title)),
        color=alt.Color("effect:N", title="Outcome", scale=alt.Scale(
            domain=[EFFECT_WORDS[k] for k in EFFECT_COLOURS], range=list(EFFECT_COLOURS.values())),
            legend=alt.Legend(orient="bottom", columns=1 if fit.narrow else 3)),
        tooltip=[
            alt.Tooltip("theme:N", title="Theme"), alt.Tooltip("effect:N", title="Outcome"),
            alt.Tooltip("count:Q", title="Respondents"),
            alt.Tooltip("mean_with:Q", format=".2f", title="Mean with"),
            alt.Tooltip("mean_without:Q", format=".2f", title="Mean without"),
            alt.Tooltip("impact:Q", format=".2f", title="Impact"),
            alt.Tooltip("contribution:Q", format=".3f", title="Contribution"),
        ],
    )
    rules = base.mark_rule(color="#222").encode(x="ci_low:Q", x2="ci_high:Q")
    chart = (bars + rules).properties(
        width=fit.plot(fit.labels + 40), height=alt.Step(18),
        title=_title([f"Drivers of {drivers.get('score', '')}",
                      f"(mean {drivers.get('mean', 0):.2f}, {drivers.get('respondents', 0)} respondents)"], fit),
    )
    return _spec(chart)


COOCCURRENCE_THEMES = 20  # rows and columns of the heatmap: the commonest themes (the table and API hold all)


def cooccurrence_chart_build(cooccurrence: dict) -> dict:
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


def combinations_chart_build(cooccurrence: dict) -> dict:
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


# Ten colours a reader tells apart (Tableau 10): the trends view draws at most sel.TREND_THEMES_MAX lines.
TREND_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac"]


WAVE_LINES = 8  # lines in the waves chart: every net, then the codes most common in the latest wave


def waves_chart_build(result: dict, fit: ChartFit | None = None) -> dict:
    """Share of respondents per net and code from wave to wave (nets first, then the codes most common in the
    latest wave, up to WAVE_LINES), a colour each; a significant change (Holm) is marked with a larger point."""
    fit = fit or ChartFit()
    order = [w["wave"] for w in result.get("waves", [])]
    flagged = {(c["name"], c["to"]) for c in result.get("changes", []) if c.get("significant")}
    rows = result.get("rows", [])
    chosen = [r for r in rows if r["kind"] == "net"][:WAVE_LINES]
    codes = sorted((r for r in rows if r["kind"] == "code"), key=lambda r: -r["waves"][-1]["share"])
    chosen += codes[:max(0, WAVE_LINES - len(chosen))]
    points = [{"series": (NET_PREFIX if r["kind"] == "net" else "") + r["name"], "wave": p["wave"],
               "share": p["share"], "respondents": p["respondents"], "ci_low": p["ci_low"], "ci_high": p["ci_high"],
               "changed": "significant change" if (r["name"], p["wave"]) in flagged else "no clear change"}
              for r in chosen for p in r["waves"]]
    base = alt.Chart(alt.Data(values=points)).encode(
        x=alt.X("wave:O", sort=order, title="Wave"),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="Share of respondents"),
        color=alt.Color("series:N", title="Net or code", legend=alt.Legend(orient="bottom", columns=2,
                                                                           labelLimit=fit.labels)),
    )
    lines = base.mark_line()
    dots = base.mark_point(filled=True).encode(
        size=alt.Size("changed:N", scale=alt.Scale(domain=["no clear change", "significant change"],
                                                   range=[30, 140]), title=None),
        tooltip=[alt.Tooltip("series:N", title="Net or code"), alt.Tooltip("wave:O", title="Wave"),
                 alt.Tooltip("share:Q", format=".1%", title="Share"),
                 alt.Tooltip("ci_low:Q", format=".1%", title="95% CI low"),
                 alt.Tooltip("ci_high:Q", format=".1%", title="95% CI high"),
                 alt.Tooltip("respondents:Q", title="Respondents"),
                 alt.Tooltip("changed:N", title="From the wave before")],
    )
    chart = (lines + dots).properties(width=fit.plot(60), height=260, title="Waves: share of respondents")
    return _spec(chart)


def trends_chart_build(trends: dict, theme_names: dict[int, str] | None = None, fit: ChartFit | None = None) -> dict:
    """Share of respondents per theme over time for the themes the selector chose (`shown_themes`: the
    commonest, or those picked), a colour each, above the base n of every period. Periods with fewer than
    `min_base` respondents are left off the lines, which break there (one respondent reads as 0% or 100%), and
    are shaded grey with their n.

    Trend points carry theme ids only; ``theme_names`` (id -> name, e.g. from prevalence) labels the lines when
    the trends dict does not name them.
    """
    fit = fit or ChartFit()
    width = fit.plot(80)
    points = trends.get("points", [])
    min_base = int(trends.get("min_base", sel.MIN_BASE))
    names = dict(theme_names or {})
    shown = trends.get("shown_themes")
    if shown is None:  # an older shape: every theme of the points
        shown = [{"theme_id": t["theme_id"]} for t in (points[0]["themes"] if points else [])]
    ids = [t["theme_id"] for t in shown][:len(TREND_COLOURS)]
    for t in shown:
        names.setdefault(t["theme_id"], t.get("theme") or str(t["theme_id"]))
    order = [names[i] for i in ids]
    periods = [p["period"] for p in points]
    ok, low_label = f"n ≥ {min_base}", f"n < {min_base}: left off"
    rows, bases, run = [], [], 0
    for p in points:
        low = bool(p.get("low_base", p["respondents"] < min_base))
        bases.append({"period": p["period"], "respondents": p["respondents"], "base": low_label if low else ok,
                      "n": f"n={p['respondents']}"})
        if low:
            run += 1  # the lines break over a low base rather than join its neighbours
            continue
        by_id = {t["theme_id"]: t for t in p["themes"]}
        for i in ids:
            t = by_id.get(i)
            if t is not None:
                rows.append({"period": p["period"], "theme": names[i], "share": t["share"], "count": t["count"],
                             "respondents": p["respondents"], "run": run})
    lows = [b for b in bases if b["base"] != ok]
    unit = trends.get("period", "month")
    hidden = alt.Axis(labels=False, ticks=False)
    shade = alt.Chart(alt.Data(values=lows)).mark_rect(color="#e6e8eb").encode(
        x=alt.X("period:O", title=None, scale=alt.Scale(domain=periods), axis=hidden),
        tooltip=[alt.Tooltip("period:O", title="Period"), alt.Tooltip("respondents:Q", title="Respondents"),
                 alt.Tooltip("base:N", title="Base")])
    lines = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("period:O", title=None, scale=alt.Scale(domain=periods), axis=hidden),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="Share of respondents"),
        color=alt.Color("theme:N", title="Theme", sort=order,
                        scale=alt.Scale(domain=order, range=TREND_COLOURS[:len(order)]),
                        legend=alt.Legend(orient="bottom", columns=1 if fit.narrow else 2,
                                          labelLimit=width if fit.narrow else 260, symbolType="stroke")),
        detail=alt.Detail("run:N"),
        tooltip=[alt.Tooltip("period:O", title="Period"), alt.Tooltip("theme:N", title="Theme"),
                 alt.Tooltip("count:Q", title="Count"), alt.Tooltip("respondents:Q", title="Respondents"),
                 alt.Tooltip("share:Q", format=".1%", title="Share")],
    )
    top = alt.layer(shade, lines).properties(width=width, height=240)
    base = alt.Chart(alt.Data(values=bases)).encode(
        x=alt.X("period:O", title=None, scale=alt.Scale(domain=periods),
                axis=alt.Axis(labelAngle=-45, labelOverlap="parity" if fit.narrow else False)),
        y=alt.Y("respondents:Q", title="Base n"))
    bars = base.mark_bar().encode(
        color=alt.Color("base:N", title="Base", scale=alt.Scale(domain=[ok, low_label], range=["#7f8c8d", "#c9cdd2"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("period:O", title="Period"), alt.Tooltip("respondents:Q", title="Respondents"),
                 alt.Tooltip("base:N", title="Base")],
    )
    counts = base.mark_text(dy=-5, fontSize=9, color="#444").encode(text=alt.Text("respondents:Q"))
    # On a phone the bars are too thin for their numbers: the tooltips and the shading say it there.
    below = (bars if fit.narrow else alt.layer(bars, counts)).properties(width=width, height=70)
    chart = alt.vconcat(top, below, spacing=6).properties(
        title=_title([f"Trends by {unit}: {len(order)} theme{'s' if len(order) != 1 else ''};",
                      f"periods with n < {min_base} shaded and left off the lines"], fit))
    return _spec(chart.resolve_scale(color="independent"))


CHART_VIEWS = ("prevalence", "segments", "terms", "drivers", "cooccurrence", "combinations", "trends", "waves")
CHART_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}  # format -> content type


def insights_column_default(*, project: Project, kind: str) -> str | None:
    """The column a view uses when none is named (selectors.insights.insights_defaults): "segment" (a column
    making 2-12 segments, categories first), "number" (a score for drivers) or "date"; None when there is none."""
    return sel.insights_defaults(project=project)[{"segment": "segment", "number": "score", "date": "date"}[kind]]


def insights_scope_dated(scope: sel.InsightsScope) -> sel.InsightsScope:
    """The scope with a date column for trends: its own, else the project's first; ValidationError without one."""
    if scope.date_field:
        return scope
    field = insights_column_default(project=scope.project, kind="date")
    if field is None:
        raise ValidationError("trends need date_field=<a date column>; this project's metadata has none.")
    return dataclasses.replace(scope, date_field=field)


def _theme_param(params: Mapping[str, str]) -> int:
    raw = params.get("theme") or ""
    # ASCII digits within a database id only: "²" passes isdigit() but not int(), 20 digits overflow a bigint.
    if not _is_id(raw):
        raise ValidationError("Choose a theme: theme=<theme id> is required for the terms chart.")
    return int(raw)


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) < 2**63


def themes_param_parse(params: Mapping[str, str]) -> list[int] | None:
    """`themes=3,5,8` (trends): the themes to draw; None (the commonest) when absent or empty."""
    raw = [p.strip() for p in (params.get("themes") or "").split(",") if p.strip()]
    if not raw:
        return None
    if not all(_is_id(p) for p in raw):
        raise ValidationError("themes must be theme ids separated by commas.")
    return [int(p) for p in raw]


@dataclasses.dataclass(frozen=True)
class InsightsChart:
    """One view's chart with what a caption says about it."""

    spec: dict
    base: int  # respondents the chart counts
    details: list[str]  # the view's own choices: segment column, score, theme, period
    themes: list[dict] = dataclasses.field(default_factory=list)  # trends: the themes drawn (id and name)


def insights_chart_build(*, scope: sel.InsightsScope, view: str, params: Mapping[str, str]) -> InsightsChart:
    """One insights view's Vega-Lite spec under the scope, with the view's own parameters: ``theme`` (terms),
    ``segment`` (segments; insights_defaults' segment column when absent), ``score`` (drivers; the first
    numeric column when absent), ``period`` and ``themes`` (trends, over the scope's date column or the first
    one; the commonest themes when no themes are named); ``width``, the room the page has for it in px (the
    page's charts fit a phone; files leave it out and are drawn at full size).

    Raises ValidationError for an unknown view or a bad parameter.
    """
    raw_width = params.get("width") or ""
    fit = ChartFit(max(200, min(int(raw_width), 4000)) if raw_width.isascii() and raw_width.isdigit()
                   and len(raw_width) <= 5 else None)
    if view == "prevalence":
        prev = sel.prevalence(scope=scope)
        return InsightsChart(prevalence_chart_build(prev, fit), prev["respondents"], [])
    if view == "segments":
        segment = params.get("segment") or insights_column_default(project=scope.project, kind="segment")
        prev = sel.prevalence(scope=scope, segment=segment)
        details = [f"compared by {segment}"] if segment else []
        if prev.get("grouped"):
            details.append(segments_grouped_note(prev["grouped"]))
        return InsightsChart(segments_chart_build(prev, fit), prev["respondents"], details)
    if view == "terms":
        terms = sel.terms(scope=scope, theme_id=_theme_param(params))
        base = sel.prevalence(scope=scope)["respondents"]
        return InsightsChart(terms_chart_build(terms, fit), base, [f"theme {terms['theme']}"])
    if view == "drivers":
        score = params.get("score") or insights_column_default(project=scope.project, kind="number")
        if not score:
            raise ValidationError("drivers need score=<a numeric column>; this project's metadata has none.")
        result = sel.drivers(scope=scope, score=score)
        way = "higher" if result["higher_is_better"] else "lower"
        return InsightsChart(drivers_chart_build(result, fit), result["respondents"],
                             [f"score {score} ({way} is better)"])
    if view in ("cooccurrence", "combinations"):
        co = sel.cooccurrence(scope=scope)
        base = sel.prevalence(scope=scope)["respondents"]
        spec = cooccurrence_chart_build(co) if view == "cooccurrence" else combinations_chart_build(co)
        return InsightsChart(spec, base, [])
    if view == "trends":
        dated = insights_scope_dated(scope)
        period = params.get("period") or "month"
        result = sel.trends(scope=dated, period=period, theme_ids=themes_param_parse(params))
        base = sum(p["respondents"] for p in result["points"])
        return InsightsChart(trends_chart_build(result, fit=fit), base, [f"by {period} of {dated.date_field}"],
                             result["shown_themes"])
    if view == "waves":
        result = sel.waves(scope=scope)
        return InsightsChart(waves_chart_build(result, fit), sum(w["respondents"] for w in result["waves"]),
                             [f"{len(result['waves'])} waves"])
    raise ValidationError(f"unknown chart {view!r}; choose one of {', '.join(CHART_VIEWS)}.")


def insights_chart_spec(*, scope: sel.InsightsScope, view: str, params: Mapping[str, str]) -> dict:
    """One insights view's Vega-Lite spec (see insights_chart_build)."""
    return insights_chart_build(scope=scope, view=view, params=params).spec


def chart_caption_build(*, scope: sel.InsightsScope, chart: InsightsChart, drawn: date | None = None) -> list[str]:
    """What a chart file says about itself, so it keeps its meaning away from the page: the question (project
    name), the filters and view choices, the label source, the base n and the date it was drawn."""
    project = scope.project
    question = f"{project.name}: {project.question}" if project.question.strip() else project.name
    filters = [f"{k} = {v}" for k, v in scope.meta]
    if scope.date_field and (scope.date_from or scope.date_to):
        filters.append(f"{scope.date_field} from {scope.date_from or '…'} to {scope.date_to or '…'}")
    info = sel.insights_source_info(scope=scope)
    if scope.source != "model":
        labels = "resolved human labels"
    elif info["model_version"]:
        labels = f"human labels + model v{info['model_version']} estimates ({info['estimates']} estimated)"
    else:
        labels = "human labels (no model yet)"
    day = (drawn or timezone.localdate()).isoformat()
    return [f"Question: {question}",
            f"Filters: {'; '.join(filters) or 'none'}" + (f" · {'; '.join(chart.details)}" if chart.details else ""),
            f"Labels: {labels} · Base: n = {chart.base} respondents · Drawn {day} · ThemeLoop"]


def chart_caption_add(spec: dict, caption: list[str]) -> dict:
    """The spec with the caption lines under it (a one-chart vconcat whose title sits at the bottom)."""
    inner = dict(spec)
    top = {k: inner.pop(k) for k in ("$schema", "config", "datasets", "background", "padding") if k in inner}
    return {**top, "vconcat": [inner],
            "title": {"text": caption, "orient": "bottom", "anchor": "start", "fontSize": 11,
                      "fontWeight": "normal", "color": "#444", "offset": 12}}


def insights_chart_file(*, scope: sel.InsightsScope, view: str, params: Mapping[str, str], fmt: str) -> bytes:
    """One view's chart drawn as a PNG or SVG file, with its caption."""
    if fmt not in CHART_FORMATS:
        raise ValidationError(f"unknown chart format {fmt!r}; choose one of {', '.join(CHART_FORMATS)}.")
    chart = insights_chart_build(scope=scope, view=view, params=params)
    return chart_render(chart_caption_add(chart.spec, chart_caption_build(scope=scope, chart=chart)), fmt)


def chart_render(spec: dict, fmt: str) -> bytes:
    """A Vega-Lite spec drawn on the server by vl-convert (no browser, no network): PNG (2x scale) or SVG bytes.
    vl-convert holds the GIL while it draws: with CHART_RENDER_PROCESSES (the web server) the chart is drawn in a
    render process (chart_pool; ChartRenderUnavailable past CHART_RENDER_TIMEOUT), else in this process."""
    if fmt not in CHART_FORMATS:
        raise ValidationError(f"unknown chart format {fmt!r}; choose one of {', '.join(CHART_FORMATS)}.")
    if settings.CHART_RENDER_PROCESSES > 0:
        return chart_pool_render(spec, fmt)
    return chart_draw(spec, fmt)
