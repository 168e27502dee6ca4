"""Insights API: filters change the numbers as pandas says; bad parameters are 400 with the one error shape."""
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling_app.models import Membership, Role
from labeling_app.services.imports import import_file_run

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
