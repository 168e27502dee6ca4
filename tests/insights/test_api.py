"""Insights API: filters change the numbers as pandas says; bad parameters are 400 with the one error shape."""
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling_app.importing.services import import_file_run
from labeling_app.projects.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def nhs(prepare_project, nhs_file):
    project = prepare_project.project
    project.responses.all().delete()
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("nhs.csv", nhs_file.read_bytes()))
    assert Membership.objects.filter(project=project, user=prepare_project.analyst, role=Role.ANALYST).exists()
    frame = pd.read_csv(nhs_file, dtype=str, keep_default_na=False)
    return prepare_project, frame[frame["theme"] != ""]


def _get(pp, name, **params):
    url = reverse(name, kwargs={"project_id": pp.project.pk})
    return pp.client("analyst").get(url, params)


def test_date_range_and_meta_filters_change_the_counts(nhs):
    pp, frame = nhs
    dates = frame.drop_duplicates("respondent_id")["date"].str[:10]
    lo, hi = sorted(dates.unique())[len(dates.unique()) // 3], sorted(dates.unique())[2 * len(dates.unique()) // 3]
    r = _get(pp, "api-insights-prevalence", date_field="date", date_from=lo, date_to=hi)
    assert r.status_code == 200, r.content
    assert r.json()["respondents"] == int(((dates >= lo) & (dates <= hi)).sum())
    service = frame["service"].value_counts().index[1]
    r = pp.client("analyst").get(reverse("api-insights-cooccurrence", kwargs={"project_id": pp.project.pk}),
                                 {"meta": [f"service:{service}"]})
    counts = {t["theme"]: t["count"] for t in r.json()["themes"] if t["count"]}
    sub = frame[frame["service"] == service].drop_duplicates(["respondent_id", "theme"])
    assert counts == sub.groupby("theme")["respondent_id"].nunique().to_dict()
    assert r.json()["source_info"] == {"source": "human", "model_version": None, "model_micro_f1": None,
                                       "estimates": 0}


def test_trends_terms_and_term_responses(nhs):
    pp, frame = nhs
    r = _get(pp, "api-insights-trends", date_field="date", period="month")
    months = frame.drop_duplicates("respondent_id")["date"].str[:7].value_counts().sort_index()
    assert [(p["period"], p["respondents"]) for p in r.json()["points"]] == list(months.items())
    theme = max(r.json()["points"][0]["themes"], key=lambda t: t["count"])["theme_id"]
    terms = _get(pp, "api-insights-terms", theme=theme).json()
    top = terms["terms"][0]
    assert top["z"] == max(t["z"] for t in terms["terms"]) and len(terms["points"]) <= 400
    hits = _get(pp, "api-insights-term-responses", theme=theme, term=top["term"]).json()["responses"]
    assert hits and all(h["text"].lower()[s:e].split() == top["term"].split() for h in hits for s, e in h["spans"])


@pytest.mark.parametrize("name,params", [
    ("api-insights-prevalence", {"source": "crowd"}),
    ("api-insights-prevalence", {"meta": "no-colon"}),
    ("api-insights-prevalence", {"meta": "nosuch:1"}),
    ("api-insights-prevalence", {"segment": "nosuch"}),
    ("api-insights-prevalence", {"date_field": "date", "date_from": "2021-13-01"}),
    ("api-insights-prevalence", {"date_from": "2021-01-01"}),
    ("api-insights-prevalence", {"date_field": "service"}),
    ("api-insights-terms", {}),
    ("api-insights-terms", {"theme": "abc"}),
    ("api-insights-terms", {"theme": "999999999"}),
    ("api-insights-term-responses", {"term": ""}),
    ("api-insights-drivers", {}),
    ("api-insights-drivers", {"score": "service"}),
    ("api-insights-trends", {}),
    ("api-insights-trends", {"date_field": "date", "period": "year"}),
    ("api-insights-cooccurrence", {"top": "0"}),
])
def test_bad_parameters_are_400_with_the_error_shape(nhs, name, params):
    pp, _ = nhs
    r = _get(pp, name, **params)
    assert r.status_code == 400, r.content
    assert set(r.json()) == {"message", "details"} and r.json()["message"]


def _rows(spec: object) -> list[dict]:
    """Every inline data row of a Vega-Lite spec, wherever it sits."""
    if isinstance(spec, list):
        return [r for v in spec for r in _rows(v)]
    if not isinstance(spec, dict):
        return []
    values = spec.get("values") if isinstance(spec.get("values"), list) else []
    return [r for r in values if isinstance(r, dict)] + [r for k, v in spec.items() if k != "values" for r in _rows(v)]


def test_trends_give_each_periods_base_and_the_page_chart_agrees(nhs):
    from django.test import Client

    pp, _ = nhs
    r = _get(pp, "api-insights-trends", date_field="date")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["min_base"] == 30 and len(body["top_themes"]) == 8
    assert all(p["low_base"] == (p["respondents"] < 30) for p in body["points"])
    assert {p["period"] for p in body["points"] if p["low_base"]} >= {"2021-01", "2022-11"}  # 6 and 1 respondents
    # The page's chart draws the same bases and themes as the API gives (and the chart files use the same spec).
    page = Client()
    page.force_login(pp.analyst)
    chart = page.get(reverse("insights-charts", kwargs={"project_id": pp.project.pk, "view": "trends"}),
                     {"date_field": "date"}).json()
    assert chart["themes"] == body["shown_themes"]
    rows = _rows(chart["spec"])
    drawn = {r["period"]: r["respondents"] for r in rows if "base" in r}
    assert drawn == {p["period"]: p["respondents"] for p in body["points"]}
    assert {r["theme"] for r in rows if "theme" in r} == {t["theme"] for t in body["shown_themes"]}
    assert not {r["period"] for r in rows if "theme" in r} & {p["period"] for p in body["points"] if p["low_base"]}

    picked = [t["theme_id"] for t in body["shown_themes"]][2:4]
    r = _get(pp, "api-insights-trends", date_field="date", themes=",".join(map(str, picked)))
    assert [t["theme_id"] for t in r.json()["shown_themes"]] == picked
    for bad in ("abc", "1,,x", ",".join(str(t) for t in range(1, 12)), "999999999"):
        r = _get(pp, "api-insights-trends", date_field="date", themes=bad)
        assert r.status_code == 400 and set(r.json()) == {"message", "details"}, (bad, r.content)


def test_the_page_opens_segments_on_a_few_valued_column_not_the_date(nhs):
    from django.test import Client

    pp, _ = nhs
    page = Client()
    page.force_login(pp.analyst)
    html = page.get(reverse("insights", kwargs={"project_id": pp.project.pk})).content.decode()
    assert '<option value="organisation" selected>' in html and '<option value="date" selected>' not in html
    chart = page.get(reverse("insights-charts", kwargs={"project_id": pp.project.pk, "view": "segments"})).json()
    segments = {r["segment"] for r in _rows(chart["spec"])}
    assert segments == {"NEAS", "NHFT"}
