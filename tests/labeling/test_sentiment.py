"""Sentiment beside the themes (issue 25): analysts give it with their codes, a file's `sentiment` column imports as
the coders' sentiment, the retrain learns it as one more head and suggests it, Insights read it per theme and net."""
import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope, sentiment_insights
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.sentiment import sentiments_resolved
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.labeling.services.theme_recode import theme_merge
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.predictions import sentiment_suggestions_for_responses
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Project, Role
from labeling_app.projects.services.projects import project_update
from labeling_app.themes.services.themes import theme_create
from tests.conftest import demo_project_make
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _coded(levels: int = 5) -> tuple[Project, list]:
    project = Project.objects.create(name="Moods", question="Why?", sentiment_levels=levels)
    data = (b"respondent_id,response,theme\n1,too dear,Price\n2,slow replies,Support\n3,fine,Price\n4,great,Support\n")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    return project, list(project.responses.order_by("respondent_id"))


def test_a_coder_gives_a_sentiment_with_the_codes_and_a_level_off_the_scale_is_refused():
    project, responses = _coded(levels=3)
    ann, bob = UserFactory(), UserFactory()
    price = project.themes.get(name="Price")
    annotation_submit(project=project, user=ann, items=[AnnotationItem(responses[0].pk, [price.pk], sentiment=3)])
    annotation_submit(project=project, user=bob, items=[AnnotationItem(responses[0].pk, [price.pk], sentiment=1)])
    assert sorted(Annotation.objects.filter(response=responses[0], is_current=True, coder__in=[ann, bob])
                  .values_list("sentiment", flat=True)) == [1, 3]
    with pytest.raises(ValidationError, match="sentiment 4 is not one of this project's levels"):
        annotation_submit(project=project, user=ann, items=[AnnotationItem(responses[1].pk, [], sentiment=4)])
    project_update(project=project, sentiment_levels=0)
    with pytest.raises(ValidationError, match="does not code sentiment"):
        annotation_submit(project=project, user=ann, items=[AnnotationItem(responses[1].pk, [], sentiment=1)])


def test_people_s_sentiment_resolves_to_the_lower_median_and_a_merge_keeps_it():
    project, responses = _coded()
    coders = [UserFactory() for _ in range(3)]
    price, support = project.themes.get(name="Price"), project.themes.get(name="Support")
    for coder, level in zip(coders, (5, 2, 4), strict=True):
        annotation_submit(project=project, user=coder, items=[AnnotationItem(responses[1].pk, [support.pk],
                                                                             sentiment=level)])
    resolved = sentiments_resolved(project=project)
    assert resolved[responses[1].pk] == 4  # 2, 4, 5
    theme_merge(project=project, source=support, target=price)
    assert sentiments_resolved(project=project)[responses[1].pk] == 4


def test_a_sentiment_column_imports_as_the_coders_sentiment_of_coded_responses():
    project = Project.objects.create(name="NHS-like", question="?")
    data = (b"respondent_id,response,theme,sentiment\n1,kind staff,Staff,1\n1,kind staff,Care,1\n2,long wait,Waiting,5\n"
            b"3,not coded yet,,4\n")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    project.refresh_from_db()
    assert project.sentiment_levels == 5  # the project starts coding sentiment on the file's scale
    by_id = {r.respondent_id: r.pk for r in project.responses.all()}
    assert sentiments_resolved(project=project) == {by_id["1"]: 1, by_id["2"]: 5}  # the uncoded one is no coding
    assert project.responses.get(respondent_id="3").metadata["sentiment"] == "4"  # kept, as metadata
    # A column that is no scale stays metadata only.
    other = Project.objects.create(name="Words", question="?")
    words = b"respondent_id,response,theme,sentiment\n1,a,X,happy\n"
    import_file_run(project=other, user=None, upload=SimpleUploadedFile("f.csv", words))
    other.refresh_from_db()
    assert other.sentiment_levels == 0 and sentiments_resolved(project=other) == {}


def test_the_retrain_learns_sentiment_as_one_more_head_and_suggests_it(analyst, demo_vectors):
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=120)
    project_update(project=project, sentiment_levels=3)
    # People's sentiment follows the themes: price answers are negative, the rest positive.
    price = project.themes.get(name="Price Too High")
    coded = Annotation.objects.filter(response__project=project, is_current=True)
    coded.filter(themes=price).update(sentiment=3)
    coded.exclude(themes=price).update(sentiment=1)
    version = training_run(project_id=project.pk, task_id="moods")
    assert version is not None and version.status == ModelVersion.Status.READY, version and version.error
    version.refresh_from_db()
    project.refresh_from_db()
    quality = version.sentiment_quality
    assert quality["rows"] == coded.count() and quality["accuracy"] > 0.7, quality
    uncoded = list(project.responses.exclude(annotations__is_current=True).values_list("pk", flat=True)[:40])
    moods = sentiment_suggestions_for_responses(project=project, response_ids=uncoded)
    assert all(m is not None and m["level"] in (1, 2, 3) and abs(sum(m["probabilities"]) - 1) < 0.01
               for m in moods.values()), moods
    assert {m["level"] for m in moods.values() if m} >= {1, 3}
    # Over the API: the queue carries it, and level=sentiment lists it.
    client = APIClient()
    client.force_authenticate(analyst)
    batch = client.get(f"/api/projects/{project.pk}/queue/?size=5").json()
    assert all(item["sentiment_suggestion"]["level"] in (1, 2, 3) for item in batch)
    ids = ",".join(str(i) for i in uncoded[:5])
    rows = client.get(f"/api/projects/{project.pk}/suggestions/?level=sentiment&responses={ids}").json()
    assert {r["response"] for r in rows} == set(uncoded[:5])
    submitted = client.post(f"/api/projects/{project.pk}/annotations/",
                            [{"response": batch[0]["id"], "themes": [price.pk], "sentiment": 3}], format="json")
    assert submitted.status_code == 201
    assert Annotation.objects.get(response_id=batch[0]["id"], coder=analyst, is_current=True).sentiment == 3


def test_insights_sentiment_per_theme_and_net_equals_pandas():
    project = Project.objects.create(name="Moods", question="Why?", sentiment_levels=5)
    data = b"respondent_id,response\n1,too dear\n2,slow replies\n3,fine\n4,great\n5,not coded\n"
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data))
    responses = list(project.responses.order_by("respondent_id"))
    coder = UserFactory()
    MembershipFactory(project=project, user=coder, role=Role.ANALYST)
    price = theme_create(project=project, name="Price", net="Money")
    support = theme_create(project=project, name="Support", net="Service")
    given = {0: ([price.pk], 5), 1: ([support.pk], 4), 2: ([price.pk, support.pk], 2), 3: ([support.pk], 1)}
    annotation_submit(project=project, user=coder, items=[AnnotationItem(responses[i].pk, themes, sentiment=level)
                                                          for i, (themes, level) in given.items()])
    result = sentiment_insights(scope=InsightsScope(project=project))
    frame = pd.DataFrame([(name, level) for themes, level in given.values()
                          for name in {price.pk: "Price", support.pk: "Support"}.values()
                          if {"Price": price.pk, "Support": support.pk}[name] in themes], columns=["theme", "level"])
    for row in result["themes"]:
        levels = frame.loc[frame["theme"] == row["theme"], "level"]
        assert row["count"] == len(levels)
        assert row["mean"] == pytest.approx(levels.mean(), abs=1e-4)
        assert row["levels"] == [int((levels == k).sum()) for k in range(1, 6)]
        assert row["negative"] == pytest.approx((levels > 3).mean(), abs=1e-4)
    nets = {r["net"]: r for r in result["nets"]}
    assert nets["Money"]["count"] == 2 and nets["Service"]["count"] == 3  # a respondent once per net
    assert result["respondents"] == 4 and result["mean"] == pytest.approx(np.mean([5, 4, 2, 1]))


def test_exports_carry_people_s_sentiment_and_the_long_file_reimports_it(tmp_path):
    import csv
    import io

    import pyreadstat

    from labeling_app.exporting.sav_export import sav_render
    from labeling_app.exporting.services import codeframe_build, long_csv_export, wide_csv_export

    project = Project.objects.create(name="Moods out", question="Why?", sentiment_levels=3)
    import_file_run(project=project, user=None,
                    upload=SimpleUploadedFile("f.csv", b"respondent_id,response\n1,too dear\n2,slow\n3,none yet\n"))
    price = theme_create(project=project, name="Price")
    coder = UserFactory()
    by_id = {r.respondent_id: r.pk for r in project.responses.all()}
    annotation_submit(project=project, user=coder, items=[AnnotationItem(by_id["1"], [price.pk], sentiment=3),
                                                          AnnotationItem(by_id["2"], [], sentiment=2)])
    scope = InsightsScope(project=project)
    wide = list(csv.DictReader(io.StringIO(wide_csv_export(scope).decode())))
    assert {r["respondent_id"]: r["coded_sentiment"] for r in wide} == {"1": "3", "2": "2", "3": ""}
    again = Project.objects.create(name="Moods back", question="Why?")
    job = import_file_run(project=again, user=None, upload=SimpleUploadedFile("l.csv", long_csv_export(scope)))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    again.refresh_from_db()
    back = {r.respondent_id: r.pk for r in again.responses.all()}
    assert again.sentiment_levels == 3
    assert sentiments_resolved(project=again) == {back["1"]: 3, back["2"]: 2}
    path = tmp_path / "moods.sav"
    path.write_bytes(sav_render(codeframe_build(scope)))
    frame, meta = pyreadstat.read_sav(str(path))
    assert frame["csent"].tolist()[:2] == [3.0, 2.0] and np.isnan(frame["csent"].tolist()[2])
    assert meta.variable_value_labels["csent"] == {1.0: "positive", 2.0: "neutral", 3.0: "negative"}
