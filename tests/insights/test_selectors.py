"""Insights selectors on the NHS data against an independent pandas computation."""
import math

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from scipy import stats

from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import (
    MIN_BASE,
    TREND_THEMES,
    TREND_THEMES_MAX,
    InsightsScope,
    cooccurrence,
    drivers,
    insights_defaults,
    metadata_columns,
    prevalence,
    trends,
)
from tests.factories import ProjectFactory, ResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def nhs(nhs_file):
    project = ProjectFactory(name="NHS")
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("nhs.csv", nhs_file.read_bytes()))
    frame = pd.read_csv(nhs_file, dtype=str, keep_default_na=False)
    frame = frame[frame["theme"] != ""]
    return project, frame


def _wilson(c, n, z=1.959963984540054):
    p = c / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_prevalence_matches_pandas(nhs):
    project, frame = nhs
    out = prevalence(scope=InsightsScope(project=project))
    n = frame["respondent_id"].nunique()
    expected = frame.drop_duplicates(["respondent_id", "theme"]).groupby("theme")["respondent_id"].nunique()
    assert out["respondents"] == n
    got = {t["theme"]: t for t in out["themes"] if t["count"]}
    assert {k: v["count"] for k, v in got.items()} == expected.to_dict()
    for name, c in expected.items():
        lo, hi = _wilson(c, n)
        assert got[name]["share"] == pytest.approx(c / n, abs=1e-3)
        assert (round(got[name]["ci_low"], 3), round(got[name]["ci_high"], 3)) == (round(lo, 3), round(hi, 3))


def test_meta_filter_and_segments_change_the_numbers(nhs):
    project, frame = nhs
    org = frame["organisation"].value_counts().index[0]
    sub = frame[frame["organisation"] == org]
    out = prevalence(scope=InsightsScope(project=project, meta=(("organisation", org),)), segment="organisation")
    assert out["respondents"] == sub["respondent_id"].nunique() < frame["respondent_id"].nunique()
    assert [s["segment"] for s in out["segments"]] == [org]
    whole = prevalence(scope=InsightsScope(project=project), segment="organisation")
    segs = {s["segment"]: s for s in whole["segments"]}
    assert {k: v["respondents"] for k, v in segs.items()} == \
        frame.groupby("organisation")["respondent_id"].nunique().to_dict()
    # One test per theme and pair of segments; Holm never lowers a p-value.
    k = len(segs)
    assert len(whole["differences"]) == len(whole["themes"]) * k * (k - 1) // 2
    assert all(d["p_adjusted"] >= d["p"] - 1e-9 for d in whole["differences"])


def test_cooccurrence_counts_and_lift_match_pandas(nhs):
    project, frame = nhs
    out = cooccurrence(scope=InsightsScope(project=project))
    wide = pd.crosstab(frame["respondent_id"], frame["theme"]).clip(upper=1)
    n = len(wide)
    both = wide.T @ wide
    names = {t["theme_id"]: t["theme"] for t in out["themes"]}
    for pair in out["pairs"]:
        a, b = names[pair["a"]], names[pair["b"]]
        if a in wide and b in wide:
            assert pair["count"] == both.loc[a, b]
            expected = both.loc[a, b] * n / (wide[a].sum() * wide[b].sum())
            assert round(pair["lift"], 3) == round(expected, 3)
    sets = wide.apply(lambda r: tuple(sorted(r.index[r == 1])), axis=1).value_counts()
    top = out["combinations"][0]
    assert tuple(sorted(top["names"])) == sets.index[0] and top["count"] == sets.iloc[0]


def test_drivers_match_pandas(nhs):
    project, frame = nhs
    out = drivers(scope=InsightsScope(project=project), score="score")
    people = frame.drop_duplicates("respondent_id").set_index("respondent_id")
    people = people[people["score"] != ""]
    scores = people["score"].astype(float)
    wide = pd.crosstab(frame["respondent_id"], frame["theme"]).clip(upper=1).reindex(scores.index, fill_value=0)
    assert out["respondents"] == len(scores)
    assert round(out["mean"], 3) == round(scores.mean(), 3)
    for row in out["themes"]:
        if row["theme"] not in wide or row["count"] in (0, len(scores)):
            continue
        has = wide[row["theme"]] == 1
        impact = scores[has].mean() - scores[~has].mean()
        assert row["count"] == has.sum()
        assert round(row["impact"], 3) == round(impact, 3)
        assert round(row["contribution"], 3) == round(impact * has.mean(), 3)
        assert row["impact_ci"][0] <= row["impact"] <= row["impact_ci"][1]
    contributions = [r["contribution"] for r in out["themes"]]
    assert contributions == sorted(contributions)


def test_z_test_matches_scipy_chi_square():
    from ml.insights import two_proportion_z_test
    z, p = two_proportion_z_test(30, 100, 45, 110)
    chi2, p_chi, _, _ = stats.chi2_contingency(np.array([[30, 70], [45, 65]]), correction=False)
    assert round(z * z, 6) == round(chi2, 6) and round(p, 6) == round(p_chi, 6)


def test_defaults_open_segments_on_a_few_valued_category_never_the_date(nhs):
    # The NHS date column makes 23 monthly segments (a 5,500 px chart): segments open on a column of 2-12 values.
    project, frame = nhs
    kinds = {c["key"]: c for c in metadata_columns(project=project)}
    months = frame["date"].str[:7].nunique()
    assert kinds["date"]["kind"] == "date" and kinds["date"]["segments"] == months > 12
    assert kinds["organisation"]["segments"] == frame["organisation"].nunique() == 2
    assert insights_defaults(project=project) == {"segment": "organisation", "score": "score", "date": "date"}


def test_default_segment_prefers_categories_then_numbers_then_dates_and_may_be_none():
    def project_with(metadata):
        project = ProjectFactory()
        for i, meta in enumerate(metadata):
            ResponseFactory(project=project, text=f"answer {i}", metadata=meta)
        return project

    rows = [{"code": f"C{i:03d}", "rating": str(i % 5 + 1), "day": f"2024-0{i % 3 + 1}-1{i % 9}"} for i in range(40)]
    assert insights_defaults(project=project_with(rows))["segment"] == "rating"  # 40 codes: too many to compare
    no_rating = [{"code": r["code"], "day": r["day"]} for r in rows]
    assert insights_defaults(project=project_with(no_rating))["segment"] == "day"  # 3 months
    only_codes = [{"code": r["code"]} for r in rows]
    assert insights_defaults(project=project_with(only_codes)) == {"segment": None, "score": None, "date": None}
    one_value = [{"plan": "basic", **r} for r in only_codes]
    assert insights_defaults(project=project_with(one_value))["segment"] is None  # one value compares nothing


def test_trends_carry_each_periods_base_flag_small_bases_and_pick_the_commonest_themes(nhs):
    project, frame = nhs
    scope = InsightsScope(project=project, date_field="date")
    out = trends(scope=scope)
    people = frame.drop_duplicates("respondent_id")
    per_month = people.groupby(people["date"].str[:7])["respondent_id"].count().to_dict()
    assert {p["period"]: p["respondents"] for p in out["points"]} == per_month
    assert {p["period"]: p["low_base"] for p in out["points"]} == {m: n < MIN_BASE for m, n in per_month.items()}
    assert out["min_base"] == MIN_BASE and any(p["low_base"] for p in out["points"])
    assert not all(p["low_base"] for p in out["points"])

    counts = frame.drop_duplicates(["respondent_id", "theme"])["theme"].value_counts()
    names = {t["theme_id"]: t["theme"] for t in out["shown_themes"]}
    assert len(out["top_themes"]) == TREND_THEMES and [names[t] for t in out["top_themes"]] == \
        list(counts.index[:TREND_THEMES])
    assert [t["theme_id"] for t in out["shown_themes"]] == out["top_themes"]

    others = [t["theme_id"] for t in prevalence(scope=scope)["themes"]][-3:]
    picked = trends(scope=scope, theme_ids=others)
    assert [t["theme_id"] for t in picked["shown_themes"]] == others and picked["top_themes"] == out["top_themes"]
    with pytest.raises(ValidationError, match="Pick 1 to"):
        trends(scope=scope, theme_ids=[t["theme_id"] for t in prevalence(scope=scope)["themes"]][:TREND_THEMES_MAX + 1])
    with pytest.raises(ValidationError, match="No live theme"):
        trends(scope=scope, theme_ids=[10**9])


def test_the_score_direction_decides_whether_a_driver_makes_the_outcome_better(nhs):
    # FFT: 1 = very good. Gratitude goes with low scores: read as higher-is-better it would be "worse".
    project, _ = nhs
    scope = InsightsScope(project=project)
    assert project.score_higher_is_better is True
    higher = {t["theme"]: t for t in drivers(scope=scope, score="score")["themes"]}
    project.score_higher_is_better = False
    project.save(update_fields=["score_higher_is_better"])
    out = drivers(scope=InsightsScope(project=project), score="score")
    lower = {t["theme"]: t for t in out["themes"]}
    assert out["higher_is_better"] is False
    gratitude = "Positive experience & gratitude"
    assert higher[gratitude]["impact"] < 0
    assert (higher[gratitude]["effect"], lower[gratitude]["effect"]) == ("worse", "better")
    flip = {"better": "worse", "worse": "better", "none": "none"}
    assert all(lower[name]["effect"] == flip[t["effect"]] for name, t in higher.items())
    assert {t["effect"] for t in higher.values()} >= {"better", "worse"}
