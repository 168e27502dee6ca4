"""Chart builders: each spec is valid Vega-Lite (checked against Altair's bundled schema) and carries its data."""

from __future__ import annotations

import jsonschema
import pytest
from altair.vegalite.v6.schema import load_schema

from labeling_app.insights.services import charts

HOSTILE = '<img src=x onerror="alert(1)">'

PREVALENCE = {
    "respondents": 200, "source": "human", "model_version": None,
    "themes": [
        {"theme": "Staff attitude", "theme_id": 1, "count": 80, "share": 0.4, "ci_low": 0.335, "ci_high": 0.469},
        {"theme": HOSTILE, "theme_id": 2, "count": 30, "share": 0.15, "ci_low": 0.107, "ci_high": 0.206},
    ],
    "segments": [
        {"segment": "Ward A", "respondents": 120, "themes": [
            {"theme_id": 1, "theme": "Staff attitude", "count": 60, "share": 0.5, "ci_low": 0.41, "ci_high": 0.59},
            {"theme_id": 2, "theme": HOSTILE, "count": 10, "share": 0.083, "ci_low": 0.046, "ci_high": 0.147}]},
        {"segment": "Ward B", "respondents": 80, "themes": [
            {"theme_id": 1, "theme": "Staff attitude", "count": 20, "share": 0.25, "ci_low": 0.17, "ci_high": 0.355},
            {"theme_id": 2, "theme": HOSTILE, "count": 20, "share": 0.25, "ci_low": 0.17, "ci_high": 0.355}]},
    ],
    "differences": [
        {"theme_id": 1, "theme": "Staff attitude", "segment_a": "Ward A", "segment_b": "Ward B",
         "z": 3.5, "p": 0.0004, "p_adjusted": 0.0008, "significant": True},
        {"theme_id": 2, "theme": HOSTILE, "segment_a": "Ward A", "segment_b": "Ward B",
         "z": -1.2, "p": 0.23, "p_adjusted": 0.23, "significant": False},
    ],
}
TERMS = {
    "theme_id": 1, "theme": "Staff attitude",
    "terms": [{"term": "rude", "z": 4.1, "count_in": 30, "count_out": 2, "delta": 2.2}],
    "points": [{"term": "rude", "frequency": 32, "z": 4.1}, {"term": HOSTILE, "frequency": 5, "z": -0.4},
               {"term": "waiting time", "frequency": 50, "z": -2.0}],
}
DRIVERS = {
    "score": "rating", "mean": 4.1, "respondents": 180,
    "themes": [
        {"theme_id": 1, "theme": "Staff attitude", "count": 80, "mean_with": 3.2, "mean_without": 4.8,
         "impact": -1.6, "impact_ci": [-1.9, -1.3], "contribution": -0.64, "contribution_ci": [-0.8, -0.5]},
        {"theme_id": 2, "theme": HOSTILE, "count": 30, "mean_with": 4.5, "mean_without": 4.0,
         "impact": 0.5, "impact_ci": [0.1, 0.9], "contribution": 0.075, "contribution_ci": [0.01, 0.14]},
    ],
}
COOCCURRENCE = {
    "themes": [{"theme_id": 1, "theme": "Staff attitude", "count": 80}, {"theme_id": 2, "theme": HOSTILE, "count": 30},
               {"theme_id": 3, "theme": "Parking", "count": 12}],
    "pairs": [{"a": 1, "b": 2, "count": 15, "lift": 1.25}, {"a": 1, "b": 3, "count": 2, "lift": 0.42}],
    "combinations": [{"themes": [1], "names": ["Staff attitude"], "count": 60},
                     {"themes": [1, 2], "names": ["Staff attitude", HOSTILE], "count": 15}],
}
TRENDS = {
    "period": "month",
    "points": [
        {"period": "2024-01", "respondents": 90, "themes": [{"theme_id": 1, "count": 30, "share": 0.333333},
                                                             {"theme_id": 2, "count": 9, "share": 0.1}]},
        {"period": "2024-02", "respondents": 110, "themes": [{"theme_id": 1, "count": 50, "share": 0.454545},
                                                              {"theme_id": 2, "count": 21, "share": 0.190909}]},
    ],
}


def _values(spec: object) -> list[dict]:
    """Every inline data row anywhere in a spec (top level, layers, facets, concatenations)."""
    found: list[dict] = []
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            found.extend(data["values"])
        for v in spec.values():
            found.extend(_values(v))
    elif isinstance(spec, list):
        for v in spec:
            found.extend(_values(v))
    return found


def _datasets(spec: dict) -> list[dict]:
    # Altair may move inline data into top-level "datasets" referenced by name.
    rows = _values(spec)
    for values in spec.get("datasets", {}).values():
        rows.extend(values)
    return rows


CASES = [
    ("prevalence", lambda: charts.prevalence_chart_build(PREVALENCE)),
    ("segments", lambda: charts.segments_chart_build(PREVALENCE)),
    ("terms", lambda: charts.terms_chart_build(TERMS)),
    ("drivers", lambda: charts.drivers_chart_build(DRIVERS)),
    ("cooccurrence", lambda: charts.cooccurrence_chart_build(COOCCURRENCE)),
    ("combinations", lambda: charts.combinations_chart_build(COOCCURRENCE)),
    ("trends", lambda: charts.trends_chart_build(TRENDS, {1: "Staff attitude", 2: HOSTILE})),
]


@pytest.mark.parametrize(("name", "build"), CASES, ids=[c[0] for c in CASES])
def test_chart_is_valid_vega_lite(name, build):
    spec = build()
    jsonschema.validate(spec, load_schema())
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")


def test_invalid_spec_is_rejected_by_the_schema_check():
    # The validation above must be able to fail: a misspelt mark type is not Vega-Lite.
    spec = charts.prevalence_chart_build(PREVALENCE)
    spec["layer"][0]["mark"] = {"type": "barr"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec, load_schema())


def test_prevalence_chart_carries_every_theme_with_its_interval():
    rows = _datasets(charts.prevalence_chart_build(PREVALENCE))
    got = {(r["theme"], r["share"], r["ci_low"], r["ci_high"]) for r in rows}
    want = {(t["theme"], t["share"], t["ci_low"], t["ci_high"]) for t in PREVALENCE["themes"]}
    assert got == want


def test_segments_chart_flags_only_significant_differences():
    rows = _datasets(charts.segments_chart_build(PREVALENCE))
    flags = {(r["theme"], r["segment"]): r["significant"] for r in rows}
    assert flags == {("Staff attitude", "Ward A"): "yes", ("Staff attitude", "Ward B"): "yes",
                     (HOSTILE, "Ward A"): "no", (HOSTILE, "Ward B"): "no"}


def test_terms_chart_plots_frequency_against_z_with_term_tooltip():
    spec = charts.terms_chart_build(TERMS)
    rows = _datasets(spec)
    assert {(r["term"], r["frequency"], r["z"]) for r in rows} == {
        (p["term"], p["frequency"], p["z"]) for p in TERMS["points"]}
    points, words = spec["layer"]
    assert points["encoding"]["x"]["field"] == words["encoding"]["x"]["field"] == "frequency"
    assert points["encoding"]["y"]["field"] == words["encoding"]["y"]["field"] == "z"
    assert any(t["field"] == "term" for t in points["encoding"]["tooltip"])
    assert words["mark"]["type"] == "text" and words["encoding"]["text"]["field"] == "label"


def test_terms_chart_labels_the_most_distinctive_points_with_their_words():
    # A downloaded chart has no tooltip: without words on the points it is dots that say nothing.
    points = [{"term": f"w{i:02d}", "frequency": 10 + i, "z": 2.0 * i - 5} for i in range(25)]
    rows = _datasets(charts.terms_chart_build({"theme": "T", "points": points}))
    labelled = {r["label"] for r in rows if r["label"]}
    assert labelled == {f"w{i:02d}" for i in range(25 - charts.TERM_LABELS, 25)}  # the highest z
    assert all(r["label"] in ("", r["term"]) for r in rows)
    # A term whose label would sit on a more distinctive one's is left to its tooltip.
    crowded = [*points, {"term": "w24 twin", "frequency": 34, "z": 42.9}]
    rows = _datasets(charts.terms_chart_build({"theme": "T", "points": crowded}))
    assert "w24" in {r["label"] for r in rows} and "w24 twin" not in {r["label"] for r in rows}


def test_drivers_chart_carries_contributions_and_bootstrap_intervals():
    rows = _datasets(charts.drivers_chart_build(DRIVERS))
    assert {(r["theme"], r["contribution"], r["ci_low"], r["ci_high"]) for r in rows} == {
        (t["theme"], t["contribution"], *t["contribution_ci"]) for t in DRIVERS["themes"]}


def _effect_colours(spec: dict) -> dict[str, str]:
    rows = _datasets(spec)
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    colour = dict(zip(scale["domain"], scale["range"], strict=True))
    return {r["theme"]: colour[r["effect"]] for r in rows}


def test_drivers_chart_colours_by_better_or_worse_through_the_score_direction():
    # Staff attitude lowers the score: worse (red) where higher is better, better (green) where 1 = very good.
    higher = _effect_colours(charts.drivers_chart_build({**DRIVERS, "higher_is_better": True}))
    lower = _effect_colours(charts.drivers_chart_build({**DRIVERS, "higher_is_better": False}))
    red, green = charts.EFFECT_COLOURS["worse"], charts.EFFECT_COLOURS["better"]
    assert higher == {"Staff attitude": red, HOSTILE: green}
    assert lower == {"Staff attitude": green, HOSTILE: red}
    assert "lower is better" in str(charts.drivers_chart_build({**DRIVERS, "higher_is_better": False}))


def test_cooccurrence_heatmap_is_symmetric_and_uses_lift():
    spec = charts.cooccurrence_chart_build(COOCCURRENCE)
    rows = _datasets(spec)
    cells = {(r["a"], r["b"]): r["lift"] for r in rows}
    assert cells == {("Staff attitude", HOSTILE): 1.25, (HOSTILE, "Staff attitude"): 1.25,
                     ("Staff attitude", "Parking"): 0.42, ("Parking", "Staff attitude"): 0.42}
    assert spec["encoding"]["color"]["field"] == "lift"


def test_cooccurrence_heatmap_keeps_to_the_commonest_themes_and_leaves_unseen_pairs_blank():
    themes = [{"theme_id": i, "theme": f"Theme {i:02d}", "count": 100 - i} for i in range(45)]
    pairs = [{"a": i, "b": j, "count": (i + j) % 3, "lift": 0.0 if (i + j) % 3 == 0 else 1.5}
             for i in range(45) for j in range(i + 1, 45)]
    spec = charts.cooccurrence_chart_build({"themes": themes, "pairs": pairs, "combinations": []})
    rows = _datasets(spec)
    shown = {r["a"] for r in rows} | {r["b"] for r in rows}
    commonest = {f"Theme {i:02d}" for i in range(charts.COOCCURRENCE_THEMES)}
    assert shown == commonest
    assert spec["encoding"]["x"]["scale"]["domain"] == sorted(commonest)  # every commonest theme has a column
    assert rows and all(r["count"] > 0 and r["lift"] > 0 for r in rows)  # never-together pairs: no cell
    assert "20 commonest themes" in str(spec["title"])


def test_combinations_chart_has_a_bar_per_set_and_a_membership_matrix():
    rows = _datasets(charts.combinations_chart_build(COOCCURRENCE))
    bars = [r for r in rows if "count" in r]
    assert [(r["set"], r["count"]) for r in bars] == [("#1", 60), ("#2", 15)]
    members = {(r["set"], r["theme"]) for r in rows if r.get("member") is True}
    assert members == {("#1", "Staff attitude"), ("#2", "Staff attitude"), ("#2", HOSTILE)}


def test_trends_chart_names_lines_and_keeps_each_point():
    rows = [r for r in _datasets(charts.trends_chart_build(TRENDS, {1: "Staff attitude", 2: HOSTILE})) if "theme" in r]
    assert {(r["period"], r["theme"], r["share"]) for r in rows} == {
        ("2024-01", "Staff attitude", 0.333333), ("2024-01", HOSTILE, 0.1),
        ("2024-02", "Staff attitude", 0.454545), ("2024-02", HOSTILE, 0.190909)}


def test_theme_names_stay_plain_text_data():
    # Names are data values for Vega's text/tooltip rendering, never spliced into titles or HTML.
    spec = charts.prevalence_chart_build(PREVALENCE)
    assert any(r["theme"] == HOSTILE for r in _datasets(spec))
    assert "usermeta" not in spec


def test_segments_chart_panels_take_their_rows_from_the_facet():
    # Data on a layer inside a facet would draw every theme's rows (stacked) in each theme's panel.
    spec = charts.segments_chart_build(PREVALENCE)
    assert "data" in spec and "facet" in spec
    assert all("data" not in layer for layer in spec["spec"]["layer"])


def test_segments_chart_keeps_to_the_commonest_themes():
    many = {
        "themes": [{"theme_id": i, "theme": f"T{i}", "count": 50 - i, "share": (50 - i) / 100, "ci_low": 0,
                    "ci_high": 1} for i in range(30)],
        "segments": [{"segment": s, "respondents": 100, "themes": [
            {"theme_id": i, "theme": f"T{i}", "count": 5, "share": 0.05, "ci_low": 0, "ci_high": 0.1}
            for i in range(30)]} for s in ("A", "B")],
        "differences": [],
    }
    rows = _datasets(charts.segments_chart_build(many))
    assert {r["theme"] for r in rows} == {f"T{i}" for i in range(charts.SEGMENT_THEMES)}


@pytest.mark.parametrize("name, build", [
    ("prevalence", lambda: charts.prevalence_chart_build({"respondents": 0, "themes": []})),
    ("segments", lambda: charts.segments_chart_build({"respondents": 0, "themes": [], "segments": [], "differences": []})),
    ("cooccurrence", lambda: charts.cooccurrence_chart_build({"themes": [], "pairs": [], "combinations": []})),
    ("combinations", lambda: charts.combinations_chart_build({"themes": [], "pairs": [], "combinations": []})),
    ("trends", lambda: charts.trends_chart_build({"period": "month", "periods": [], "themes": []})),
])
def test_a_chart_with_nothing_to_show_says_so_instead_of_drawing_axes_over_an_empty_range(name, build):
    spec = build()
    jsonschema.validate(spec, load_schema())
    assert spec["mark"]["type"] == "text" and spec["data"]["values"] == [{"note": charts.NOTHING_TO_CHART}]
    svg = charts.chart_render(spec, "svg").decode()
    assert "Nothing to chart yet" in svg and "0.000000" not in svg and "%" not in svg


def _trends(n_themes: int, bases: list[int], shown: list[int]) -> dict:
    return {"period": "month", "min_base": 30, "shown_themes": [{"theme_id": i, "theme": f"T{i}"} for i in shown],
            "points": [{"period": f"2024-{m + 1:02d}", "respondents": n, "low_base": n < 30,
                        "themes": [{"theme_id": i, "count": 1, "share": 0.5} for i in range(n_themes)]}
                       for m, n in enumerate(bases)]}


def test_trends_chart_draws_only_the_shown_themes_each_in_its_own_colour():
    spec = charts.trends_chart_build(_trends(45, [100, 200], shown=list(range(8))))
    lines = [r for r in _datasets(spec) if "theme" in r]
    assert {r["theme"] for r in lines} == {f"T{i}" for i in range(8)}
    colour = spec["vconcat"][0]["layer"][1]["encoding"]["color"]["scale"]
    assert colour["domain"] == [f"T{i}" for i in range(8)] and len(set(colour["range"])) == 8


def test_trends_chart_leaves_low_base_periods_off_the_lines_and_shows_every_base():
    spec = charts.trends_chart_build(_trends(3, [1, 120, 29, 30], shown=[0, 1]))
    rows = _datasets(spec)
    lines = [r for r in rows if "theme" in r]
    assert {r["period"] for r in lines} == {"2024-02", "2024-04"}  # n = 1 and n = 29 are not points
    assert len({r["run"] for r in lines}) == 2  # the line breaks over the low month instead of joining across it
    bases = {r["period"]: (r["respondents"], r["base"]) for r in rows if "base" in r}
    assert bases == {"2024-01": (1, "n < 30: left off"), "2024-02": (120, "n ≥ 30"),
                     "2024-03": (29, "n < 30: left off"), "2024-04": (30, "n ≥ 30")}
    shaded = [r["period"] for r in spec["vconcat"][0]["layer"][0]["data"]["values"]]
    assert shaded == ["2024-01", "2024-03"]


def test_segments_chart_keeps_to_the_largest_segments():
    # A column of 23 months drew a 5,500 px chart: the bars stay at the largest SEGMENT_BARS segments.
    segments = [{"segment": f"2024-{i:02d}", "respondents": 10 + i, "themes": [
        {"theme_id": 1, "theme": "A", "count": 1, "share": 0.1, "ci_low": 0, "ci_high": 0.2}]} for i in range(23)]
    spec = charts.segments_chart_build({"themes": [{"theme_id": 1, "theme": "A"}], "segments": segments,
                                  "differences": []})
    shown = {r["segment"] for r in _datasets(spec)}
    assert shown == {f"2024-{i:02d}" for i in range(23 - charts.SEGMENT_BARS, 23)}
    assert f"the {charts.SEGMENT_BARS} largest of 23 segments" in str(spec["title"])


def test_caption_wraps_any_chart_into_valid_vega_lite_with_the_lines_at_the_bottom():
    for _name, build in CASES:
        spec = charts.chart_caption_add(build(), ["Question: Q", "Filters: none", "Base: n = 5"])
        jsonschema.validate(spec, load_schema())
        assert spec["title"]["text"] == ["Question: Q", "Filters: none", "Base: n = 5"]
        assert spec["title"]["orient"] == "bottom" and "$schema" not in spec["vconcat"][0]


def _widths(spec: object) -> list[int]:
    if isinstance(spec, dict):
        own = [spec["width"]] if isinstance(spec.get("width"), int) else []
        return own + [w for v in spec.values() for w in _widths(v)]
    if isinstance(spec, list):
        return [w for v in spec for w in _widths(v)]
    return []


def test_charts_narrow_to_the_room_the_page_gives_and_files_keep_full_size():
    phone, full = charts.ChartFit(340), charts.ChartFit()
    builds = [lambda f: charts.prevalence_chart_build(PREVALENCE, f), lambda f: charts.segments_chart_build(PREVALENCE, f),
              lambda f: charts.terms_chart_build(TERMS, f), lambda f: charts.drivers_chart_build(DRIVERS, f),
              lambda f: charts.trends_chart_build(TRENDS, {1: "Staff attitude", 2: HOSTILE}, fit=f)]
    for build in builds:
        narrow, wide = _widths(build(phone)), _widths(build(full))
        jsonschema.validate(build(phone), load_schema())
        assert narrow and max(narrow) <= 340 - 80 < min(wide), (narrow, wide)
    assert max(_widths(charts.prevalence_chart_build(PREVALENCE, charts.ChartFit(1200)))) == charts.WIDTH
    y_axis = charts.prevalence_chart_build(PREVALENCE, phone)["layer"][0]["encoding"]["y"]["axis"]
    assert y_axis["labelLimit"] == 110
