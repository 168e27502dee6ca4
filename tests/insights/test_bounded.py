"""Insights hold under a heavy hand (issue 26): a metadata column of all-different values is compared on its
largest values, the rest grouped as "(other)", in bounded time and size; chart files are throttled per user."""
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import OTHER_SEGMENT, SEGMENTS_MAX

pytestmark = pytest.mark.django_db

ROWS = 10_000


@pytest.fixture
def wide_project(prepare_project):
    """The prepared project with 10,000 more coded responses (a bulk import, as a user would upload it) whose
    `shop` column holds a different value on every row."""
    lines = ["respondent_id,response,theme,shop"]
    themes = ["Price", "Delivery", "Value", "Service"]
    lines += [f"W{i},answer number {i},{themes[i % 4]},shop-{i:05d}" for i in range(ROWS)]
    job = import_file_run(project=prepare_project.project, user=prepare_project.admin,
                          upload=SimpleUploadedFile("wide.csv", "\n".join(lines).encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    return prepare_project


def test_a_10000_value_segment_column_answers_fast_with_a_bounded_body(wide_project):
    client = wide_project.client("analyst")
    url = f"/api/projects/{wide_project.project.pk}/insights/prevalence/?segment=shop"
    started = time.monotonic()
    answer = client.get(url)
    took = time.monotonic() - started
    assert answer.status_code == 200, answer.content[:300]
    assert took < 2.0, f"{took:.1f} s"
    assert len(answer.content) < 300_000, len(answer.content)
    body = answer.json()
    names = [s["segment"] for s in body["segments"]]
    assert len(names) == SEGMENTS_MAX + 1 and names[-1] == OTHER_SEGMENT
    assert body["grouped"] == {"other_values": ROWS - SEGMENTS_MAX, "respondents": ROWS - SEGMENTS_MAX,
                               "segment": OTHER_SEGMENT}
    assert sum(s["respondents"] for s in body["segments"]) == body["respondents"] == ROWS
    themes = len(body["themes"])
    assert len(body["differences"]) == (SEGMENTS_MAX + 1) * SEGMENTS_MAX // 2 * themes

    # The page's chart says the values were grouped, and is as small as any 13-segment chart.
    page = wide_project.client("analyst")
    page.force_login(wide_project.analyst)
    started = time.monotonic()
    chart = page.get(f"/projects/{wide_project.project.pk}/insights/charts/segments/?segment=shop")
    assert chart.status_code == 200 and time.monotonic() - started < 2.0
    spec = json.dumps(chart.json()["spec"])
    assert len(spec) < 300_000 and f"{ROWS - SEGMENTS_MAX:,} smaller values grouped as {OTHER_SEGMENT}" in spec


def test_a_column_of_few_values_is_not_grouped(prepare_project):
    from labeling_app.insights.selectors.insights import insights_scope_from_params, prevalence

    lines = ["respondent_id,response,theme,plan"] + [f"P{i},text {i},Price,{'ab'[i % 2]}" for i in range(20)]
    import_file_run(project=prepare_project.project, user=None,
                    upload=SimpleUploadedFile("few.csv", "\n".join(lines).encode()))
    scope = insights_scope_from_params(project=prepare_project.project, params={})
    result = prevalence(scope=scope, segment="plan")
    assert result["grouped"] is None
    assert [s["segment"] for s in result["segments"]] == ["a", "b"]


def test_chart_files_are_throttled_per_user(prepare_project, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "charts": "2/minute"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    url = f"/api/projects/{prepare_project.project.pk}/insights/charts/prevalence.svg"
    analyst = prepare_project.client("analyst")
    answers = [analyst.get(url).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert prepare_project.client("analyst2").get(url).status_code == 200  # another user has their own allowance


def test_the_workbook_and_the_report_say_when_values_were_grouped(prepare_project):
    # 30 shops: the 12 largest are compared, the other 18 make "(other)", and both files say so.
    import io

    from openpyxl import load_workbook

    from labeling_app.exporting.services import ExportOptions, report_html_render, xlsx_export
    from labeling_app.insights.selectors.insights import insights_scope_from_params

    lines = ["respondent_id,response,theme,shop"]
    lines += [f"S{i},answer {i},{'Price' if i % 2 else 'Delivery'},shop-{i % 30:02d}" for i in range(120 + 12)]
    job = import_file_run(project=prepare_project.project, user=None,
                          upload=SimpleUploadedFile("shops.csv", "\n".join(lines).encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    scope = insights_scope_from_params(project=prepare_project.project, params={})
    book = load_workbook(io.BytesIO(xlsx_export(scope, ExportOptions(segment="shop"))), read_only=True)
    rows = [r for r in book["segments"].iter_rows(values_only=True)]
    segments = {r[0] for r in rows[1:] if r and r[0] and not str(r[0]).startswith("Note")}
    assert len(segments) == SEGMENTS_MAX + 1 and OTHER_SEGMENT in segments
    assert any(r and str(r[0]).startswith("Note: 18 smaller values grouped as (other)") for r in rows)
    html = report_html_render(scope, ExportOptions(segment="shop")).decode()
    assert "18 smaller values grouped as (other)" in html


def test_a_codeframe_of_a_thousand_codes_keeps_cooccurrence_to_the_pairs_seen_together(prepare_project):
    lines = ["respondent_id,response,theme"]
    for i in range(3000):
        lines += [f"T{i},answer {i},code {i % 1000}", f"T{i},answer {i},code {(i + 1) % 1000}"]
    job = import_file_run(project=prepare_project.project, user=None,
                          upload=SimpleUploadedFile("codes.csv", "\n".join(lines).encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    client = prepare_project.client("analyst")
    url = f"/api/projects/{prepare_project.project.pk}/insights/cooccurrence/"
    started = time.monotonic()
    answer = client.get(url)
    assert answer.status_code == 200 and time.monotonic() - started < 2.0
    pairs = answer.json()["pairs"]
    assert len(pairs) == 1000 and all(p["count"] == 3 for p in pairs)  # not the 500,000 pairs of 1,002 codes
    assert len(answer.content) < 300_000
