"""Net counts on NHS with its framework (45 codes under 11 nets) equal a hand computation with pandas: a
respondent is in a net when they have any of its codes, counted once; by segment too; and the chart and the
XLSX prevalence sheet show each net above its codes."""
import io

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from labeling_app.exporting.services import xlsx_export
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope, prevalence
from labeling_app.insights.services.charts import NET_PREFIX, prevalence_rows_by_net
from labeling_app.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def nhs(nhs_file):
    coded = pd.read_csv(nhs_file, dtype=str, keep_default_na=False)
    framework = pd.read_csv(nhs_file.parent / "framework.csv", dtype=str, keep_default_na=False)
    rows = coded.merge(framework.rename(columns={"category": "net"}), on="theme", how="left")
    rows["net"] = rows["net"].fillna("")
    project = Project.objects.create(name="NHS nets", question="What could we do better?")
    data = rows[["respondent_id", "response", "theme", "net", "question", "service"]].to_csv(index=False).encode()
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("nhs.csv", data))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    return project, rows


def test_net_counts_equal_pandas_on_nhs_with_the_framework(nhs):
    project, rows = nhs
    assert project.nets.count() == 11 and project.themes.filter(net__isnull=True).count() == 0
    result = prevalence(scope=InsightsScope(project=project), segment="question")
    n = rows["respondent_id"].nunique()
    assert result["respondents"] == n
    expected = rows.groupby("net")["respondent_id"].nunique().to_dict()
    got = {r["net"]: r["count"] for r in result["nets"]}
    assert got == expected
    for r in result["nets"]:
        assert r["share"] == pytest.approx(expected[r["net"]] / n, abs=1e-4)
        assert r["ci_low"] <= r["share"] <= r["ci_high"]
    # A net counts a respondent once: less than the sum of its codes' counts wherever codes co-occur.
    codes = {t["theme"]: t["count"] for t in result["themes"]}
    staff = next(r for r in result["nets"] if r["net"] == "Staff")
    members = rows.loc[rows["net"] == "Staff", "theme"].unique()
    assert staff["count"] < sum(codes[m] for m in members)
    # By segment: each question's net counts.
    by_question = rows.groupby(["question", "net"])["respondent_id"].nunique()
    for segment in result["segments"]:
        for r in segment["nets"]:
            assert r["count"] == by_question.get((segment["segment"], r["net"]), 0)


def test_nets_sit_above_their_codes_in_the_chart_rows_and_the_xlsx_sheet(nhs):
    project, rows = nhs
    scope = InsightsScope(project=project)
    ordered = prevalence_rows_by_net(prevalence(scope=scope))
    net_of = dict(zip(rows["theme"], rows["net"], strict=False))
    current = None
    for row in ordered:
        if row["kind"] == "net":
            current = row["label"].removeprefix(NET_PREFIX)
        else:
            assert net_of[row["label"]] == current, row  # every code comes right under its own net
    assert sum(r["kind"] == "net" for r in ordered) == 11 and sum(r["kind"] == "code" for r in ordered) == 45
    sheet = list(load_workbook(io.BytesIO(xlsx_export(scope)))["prevalence"].iter_rows(values_only=True))
    assert sheet[0][:1] == ("theme",) and sheet[0][6:] == ("kind", "code")
    assert [(r[0], r[1], r[6]) for r in sheet[1:]] == [(r["label"], r["count"], r["kind"]) for r in ordered]
