"""Waves of one question (issue 25): an import marked as a wave, the comparison of waves on Insights (shares per
wave, changes with Holm-corrected tests, a chart), the queue that puts the new wave's unsure and unlike answers
first, and the "new theme?" list."""
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope, insights_defaults, wave_order, waves
from labeling_app.insights.services.charts import insights_chart_build
from labeling_app.labeling.models import Annotation, LabelQueue
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.new_themes import new_theme_candidates_read
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Project, Response, Role
from labeling_app.themes.services.themes import theme_create
from ml.insights import holm_adjust, two_proportion_z_test
from tests.conftest import demo_project_make

pytestmark = pytest.mark.django_db


def _wave(project: Project, rows: list[tuple[str, str, str]], wave: str) -> ImportJob:
    frame = pd.DataFrame(rows, columns=["respondent_id", "response", "theme"])
    job = import_file_run(project=project, user=None, wave=wave,
                          upload=SimpleUploadedFile(f"{wave}.csv", frame.to_csv(index=False).encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    return job


def test_waves_are_compared_share_by_share_with_holm_corrected_changes():
    project = Project.objects.create(name="Tracker", question="Why?")
    theme_create(project=project, name="Price", net="Money")
    theme_create(project=project, name="Fees", net="Money")
    theme_create(project=project, name="Support")
    first = [(f"a{i}", f"answer a{i}", "Price" if i < 30 else "Support") for i in range(100)]
    second = [(f"b{i}", f"answer b{i}", "Price" if i < 70 else ("Fees" if i < 80 else "Support")) for i in range(100)]
    _wave(project, first, "2025")
    job = _wave(project, second, "2026")
    assert job.wave == "2026" and Response.objects.get(project=project, respondent_id="b1").metadata == {"wave": "2026"}
    assert wave_order(project=project) == ["2025", "2026"]
    assert insights_defaults(project=project)["segment"] == "wave"
    result = waves(scope=InsightsScope(project=project))
    assert [w["respondents"] for w in result["waves"]] == [100, 100]
    frame = pd.DataFrame(first + second, columns=["respondent_id", "response", "theme"])
    frame["wave"] = frame["respondent_id"].str[0].map({"a": "2025", "b": "2026"})
    frame["net"] = frame["theme"].map({"Price": "Money", "Fees": "Money"})
    counts = {("code", t, w): n for (t, w), n in frame.groupby(["theme", "wave"]).size().items()}
    counts |= {("net", t, w): n for (t, w), n in frame.dropna().groupby(["net", "wave"])["respondent_id"]
               .nunique().items()}
    for row in result["rows"]:
        for point in row["waves"]:
            assert point["count"] == counts.get((row["kind"], row["name"], point["wave"]), 0), (row["name"], point)
    # Holm over every row's step, as computed by hand from the same z-tests.
    p = [two_proportion_z_test(r["waves"][1]["count"], 100, r["waves"][0]["count"], 100)[1] for r in result["rows"]]
    expected = holm_adjust(p)
    assert [c["p_adjusted"] for c in result["changes"]] == pytest.approx(expected, abs=1e-4)
    price = next(c for c in result["changes"] if c["name"] == "Price")
    assert price["change"] == pytest.approx(0.4) and price["significant"]
    chart = insights_chart_build(scope=InsightsScope(project=project), view="waves", params={})
    assert chart.base == 200 and "NET Money" in str(chart.spec)


def test_a_new_wave_leads_the_queue_and_its_unlike_answers_make_the_new_theme_list(analyst, demo_vectors):
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=120)
    coded = set(Annotation.objects.filter(response__project=project, is_current=True).values_list("response_id",
                                                                                                  flat=True))
    responses = list(project.responses.order_by("pk"))
    uncoded = [r for r in responses if r.pk not in coded]
    new_wave = {r.pk for r in uncoded[len(uncoded) // 2:]}  # the later half of the uncoded answers
    for r in responses:
        r.metadata = {**r.metadata, "wave": "2" if r.pk in new_wave else "1"}
    Response.objects.bulk_update(responses, ["metadata"])
    version = training_run(project_id=project.pk, task_id="waves")
    assert version is not None and version.status == ModelVersion.Status.READY
    queue = LabelQueue.objects.get(project=project).response_ids
    assert set(queue[:len(new_wave)]) == new_wave  # the new wave first, then the rest as planned
    project.refresh_from_db()
    listed = new_theme_candidates_read(project=project)
    assert listed["wave"] == "2" and 0 < len(listed["responses"]) <= 20
    assert {r["id"] for r in listed["responses"]} <= new_wave
    texts = [r["text"] for r in listed["responses"]]
    assert len(set(texts)) == len(texts)  # near-duplicates never fill the list
    novelty = [r["novelty"] for r in listed["responses"]]
    assert novelty[0] == max(novelty)


def test_the_insights_page_compares_waves_and_a_new_theme_codes_its_answer(prepare_project):
    project = prepare_project.project
    responses = list(project.responses.order_by("pk"))
    for i, r in enumerate(responses):
        r.metadata = {**r.metadata, "wave": "spring" if i < len(responses) // 2 else "autumn"}
    Response.objects.bulk_update(responses, ["metadata"])
    client = Client()
    client.force_login(prepare_project.user("admin"))
    page = client.get(f"/projects/{project.pk}/insights/").content.decode()
    assert 'id="view-waves"' in page and "2 waves (spring, autumn)" in page
    answer = responses[-1]
    made = client.post(f"/projects/{project.pk}/themes/", {"action": "create", "new-name": "Packaging",
                                                            "new-colour": "#4c78a8", "from_response": answer.pk})
    assert made.status_code == 302 and f"response={answer.pk}" in made["Location"]
    theme = project.themes.get(name="Packaging")
    assert Annotation.objects.filter(response=answer, is_current=True, themes=theme,
                                     coder=prepare_project.user("admin")).exists()
