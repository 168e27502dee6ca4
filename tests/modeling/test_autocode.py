"""The model codes what it is sure of: preview, confirm, re-decide after a retrain, undo, and the blind check."""
import csv
import io

import numpy as np
import pytest
from openpyxl import load_workbook

from labeling_app.audit.models import AuditEvent
from labeling_app.exporting.services import long_csv_export, report_context_build, wide_csv_export, xlsx_export
from labeling_app.insights.selectors.insights import InsightsScope, prevalence
from labeling_app.labeling.models import Annotation, AutoCode, AutoCoding, LabelQueue
from labeling_app.labeling.selectors.autocodes import autocodes_current
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.labeling.services.queue import queue_batch_lease
from labeling_app.modeling.selectors.autocode import autocode_preview
from labeling_app.modeling.selectors.predictions import predictions_of, suggestions_for_responses
from labeling_app.modeling.services.autocode import autocode_apply, autocode_qc_draw, autocode_redecide, autocode_undo
from labeling_app.projects.models import Role
from labeling_app.review.selectors.autocode_check import autocode_check
from ml.autocode import qc_measure
from tests.factories import MembershipFactory, ProjectFactory, ResponseFactory, ThemeFactory, UserFactory
from tests.model_versions import model_version_make

SURE, UNSURE = 12, 8  # uncoded responses the model is sure / unsure of


@pytest.fixture
def coded(db):
    """A project of 25 responses: 5 coded by an analyst, 12 the model is sure of, 8 it is not; a queue order."""
    project = ProjectFactory(name="Autocode")
    lead = MembershipFactory(project=project, user=UserFactory(username="lena-lead"), role=Role.LEAD).user
    analyst = MembershipFactory(project=project, user=UserFactory(username="ari-analyst")).user
    analyst2 = MembershipFactory(project=project, user=UserFactory(username="bo-analyst")).user
    price, delivery = ThemeFactory(project=project, name="Price"), ThemeFactory(project=project, name="Delivery")
    responses = ResponseFactory.create_batch(25, project=project)
    human, sure, unsure = responses[:5], responses[5:5 + SURE], responses[5 + SURE:]
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(r.pk, [delivery.pk]) for r in human])
    probabilities = {r.pk: [0.99, 0.01] for r in human}  # the model would code these too: people did
    probabilities |= {r.pk: ([0.995, 0.004] if i % 2 else [0.003, 0.996]) for i, r in enumerate(sure)}
    probabilities |= {r.pk: [0.3, 0.35] for r in unsure}  # no theme likely enough: never coded
    model_version_make(project=project, probabilities=probabilities, theme_ids=[price.pk, delivery.pk],
                       thresholds=[0.5, 0.5])
    LabelQueue.objects.create(project=project, response_ids=[r.pk for r in responses[5:]], strategy="test")
    return {"project": project, "lead": lead, "analyst": analyst, "analyst2": analyst2, "price": price,
            "delivery": delivery, "human": human, "sure": sure, "unsure": unsure}


def test_the_preview_says_what_the_model_would_code_and_writes_nothing(coded):
    preview = autocode_preview(project=coded["project"], target=0.85)
    assert preview is not None and preview.eligible == SURE + UNSURE
    assert sorted(preview.response_ids) == sorted(r.pk for r in coded["sure"])  # never a human-coded one
    assert preview.claimed_f1 >= 0.85 and preview.interval[0] <= preview.claimed_f1 <= preview.interval[1]
    by_name = {row["name"]: row["coded"] for row in preview.payload()["per_theme"]}
    assert by_name == {"Price": SURE // 2, "Delivery": SURE // 2}
    assert not AutoCode.objects.exists() and not AutoCoding.objects.exists()


def test_confirming_codes_them_as_the_models_apart_from_human_codes_and_undo_removes_exactly_them(coded):
    project, lead = coded["project"], coded["lead"]
    before = sorted(Annotation.objects.values_list("pk", "response_id", "is_current"))
    auto = autocode_apply(project=project, user=lead, target=0.85)
    assert auto.coded == SURE and auto.model_number == 1
    codes = autocodes_current(project=project)
    assert set(codes) == {r.pk for r in coded["sure"]}
    assert codes[coded["sure"][1].pk] == {coded["price"].pk} and codes[coded["sure"][0].pk] == {coded["delivery"].pk}
    assert sorted(Annotation.objects.values_list("pk", "response_id", "is_current")) == before  # no human row
    assert AuditEvent.objects.filter(project=project, action="autocode.apply").count() == 1
    # The rest stay in the queue; the model's codes are not served.
    served = {r.pk for r in queue_batch_lease(project=project, user=coded["analyst2"], size=25)}
    assert served == {r.pk for r in coded["unsure"]}

    assert autocode_undo(project=project, user=lead) == SURE
    assert not AutoCode.objects.exists() and autocodes_current(project=project) == {}
    assert sorted(Annotation.objects.values_list("pk", "response_id", "is_current")) == before
    assert AuditEvent.objects.filter(project=project, action="autocode.undo").count() == 1
    served |= {r.pk for r in queue_batch_lease(project=project, user=coded["analyst2"], size=25)}
    assert served == {r.pk for r in coded["sure"] + coded["unsure"]}  # back in the queue


def test_a_human_code_wins_and_exports_insights_and_the_report_say_which_codes_are_the_models(coded):
    project, lead, analyst = coded["project"], coded["lead"], coded["analyst"]
    autocode_apply(project=project, user=lead, target=0.85)
    overruled = coded["sure"][1]  # the model said Price; a person says Delivery
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(overruled.pk, [coded["delivery"].pk])])
    assert overruled.pk not in autocodes_current(project=project)
    scope = InsightsScope(project=project)
    rows = list(csv.DictReader(io.StringIO(wide_csv_export(scope).decode())))
    source = {row["respondent_id"]: row["label_source"] for row in rows}
    by_pk = {r.pk: r.respondent_id for r in coded["human"] + coded["sure"] + coded["unsure"]}
    assert source[by_pk[overruled.pk]] == "human"
    assert {pk for pk, rid in by_pk.items() if source[rid] == "auto"} == set(autocodes_current(project=project))
    assert {pk for pk, rid in by_pk.items() if source[rid] == "human"} == \
        {r.pk for r in coded["human"]} | {overruled.pk}
    overruled_row = next(row for row in rows if row["respondent_id"] == by_pk[overruled.pk])
    assert (overruled_row["Delivery"], overruled_row["Price"]) == ("1", "0")
    long_rows = list(csv.reader(io.StringIO(long_csv_export(scope).decode())))
    assert "label_source" in long_rows[0]
    # Insights count the model's codes where nobody coded, once.
    counts = {t["theme"]: t["count"] for t in prevalence(scope=scope)["themes"]}
    assert counts == {"Delivery": 5 + 1 + SURE // 2, "Price": SURE // 2 - 1}
    line = report_context_build(scope)["autocode_line"]
    assert line.startswith(f"{SURE - 1} responses coded by model v1, ") and line.endswith("; 6 coded by people")
    about = dict(load_workbook(io.BytesIO(xlsx_export(scope)), read_only=True)["about"].iter_rows(values_only=True))
    assert about["coded by the model"] == line
    xlsx_sources = [row[-1] for row in load_workbook(io.BytesIO(xlsx_export(scope)), read_only=True)["responses"]
                    .iter_rows(min_row=2, values_only=True)]
    assert xlsx_sources.count("auto") == SURE - 1 and xlsx_sources.count("human") == 6


def test_a_new_version_decides_again_for_the_models_codes_only(coded):
    project, lead = coded["project"], coded["lead"]
    autocode_apply(project=project, user=lead, target=0.85)
    human_rows = sorted(Annotation.objects.values_list("pk", "response_id", "is_current"))
    # v2 is sure of the first half of the old "unsure" rows and of none of the old "sure" ones.
    everyone = coded["human"] + coded["sure"] + coded["unsure"]
    now_sure = coded["unsure"][:4]
    probabilities = {r.pk: ([0.002, 0.997] if r in now_sure else [0.3, 0.35]) for r in everyone}
    version = model_version_make(project=project, probabilities=probabilities,
                                 theme_ids=[coded["price"].pk, coded["delivery"].pk], thresholds=[0.5, 0.5], number=2)
    autocode_redecide(project=project, predictions=lambda: predictions_of(version=version), model_number=2,
                      model_version_id=version.pk)
    assert autocodes_current(project=project) == {r.pk: {coded["delivery"].pk} for r in now_sure}
    assert sorted(Annotation.objects.values_list("pk", "response_id", "is_current")) == human_rows
    assert AutoCoding.objects.get().model_number == 2


def test_the_blind_check_hides_the_models_themes_is_served_first_and_measures_the_claim(coded):
    project, lead = coded["project"], coded["lead"]
    autocode_apply(project=project, user=lead, target=0.85)
    assert autocode_qc_draw(project=project, user=lead, size=6, seed=3) == 6
    drawn = dict(AutoCode.objects.filter(in_qc=True).values_list("response_id", "theme_ids"))
    assert len(drawn) == 6
    hidden = suggestions_for_responses(project=project, response_ids=[*drawn, coded["unsure"][0].pk])
    assert all(hidden[pk] == [] for pk in drawn) and hidden[coded["unsure"][0].pk]
    first = [r.pk for r in queue_batch_lease(project=project, user=coded["analyst"], size=3)]
    second = [r.pk for r in queue_batch_lease(project=project, user=coded["analyst2"], size=3)]
    assert set(first + second) == set(drawn)  # two analysts get the check first, each a different half
    # They code it: the first half as the model did, the second half with the other theme.
    flip = {coded["price"].pk: coded["delivery"].pk, coded["delivery"].pk: coded["price"].pk}
    annotation_submit(project=project, user=coded["analyst"], items=[AnnotationItem(pk, drawn[pk]) for pk in first])
    annotation_submit(project=project, user=coded["analyst2"],
                      items=[AnnotationItem(pk, [flip[t] for t in drawn[pk]]) for pk in second])
    check = autocode_check(project=project)
    assert check is not None and check["qc"]["checked"] == 6 and check["qc"]["claimed_f1"] is not None
    themes = sorted([coded["price"].pk, coded["delivery"].pk])
    order = sorted(drawn)
    auto = np.array([[t in drawn[pk] for t in themes] for pk in order])
    human = np.array([[(t in drawn[pk]) == (pk in first) for t in themes] for pk in order])
    expected = qc_measure(auto, human, seed=0)
    assert check["qc"]["micro_f1"] == pytest.approx(expected["micro_f1"], abs=1e-4) == pytest.approx(0.5)
    assert check["qc"]["precision"] == pytest.approx(0.5)


def test_only_leads_and_admins_use_the_gate_and_bad_targets_are_refused(coded, client):
    project = coded["project"]
    url = f"/api/projects/{project.pk}/autocode/"
    client.force_login(coded["analyst"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"target": 0.85}, content_type="application/json").status_code == 403
    client.force_login(coded["lead"])
    preview = client.get(url + "?target=0.9").json()["preview"]
    assert preview["coded"] == SURE and preview["left"] == UNSURE
    assert client.post(url, {"target": 1.5}, content_type="application/json").status_code == 400
    assert not AutoCode.objects.exists()
    answer = client.post(url, {"target": 0.9}, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["current"]["coded"] == SURE
    assert client.post(url + "check/", {"size": 0}, content_type="application/json").status_code == 400
    assert client.post(url + "check/", {"size": 4}, content_type="application/json").json()["drawn"] == 4
    assert client.delete(url).json() == {"removed": SURE}
    assert client.delete(url).status_code == 400


def test_the_gate_uses_the_versions_own_correction_of_its_error_probabilities(coded):
    """A version that measured half the misses its probabilities expect claims more for the same decisions."""
    project = coded["project"]
    plain = autocode_preview(project=project, target=0.85)
    version = project.current_model
    version.gate_correction = {"fp_scale": 0.5, "fn_scale": 0.5, "rows": 40}
    version.save(update_fields=["gate_correction"])
    version.made_current_at = version.made_current_at.replace(microsecond=(version.made_current_at.microsecond + 1)
                                                              % 1_000_000)
    version.save(update_fields=["made_current_at"])  # a fresh cache key for the stored predictions
    project.refresh_from_db()
    corrected = autocode_preview(project=project, target=0.85)
    assert corrected.response_ids == plain.response_ids  # the same decisions ...
    assert 1 - corrected.claimed_f1 == pytest.approx((1 - plain.claimed_f1) / 2, rel=0.05)  # ... half the error


def test_a_retrain_after_new_human_labels_decides_again_for_the_models_codes_only(db, demo_vectors):
    """Through the real retrain: the new version's decisions replace the model's codes (none where people coded
    since), and no human coding changes."""
    from labeling_app.modeling.models import ModelVersion
    from labeling_app.modeling.services.training import training_run
    from tests.conftest import demo_project_make

    lead, analyst = UserFactory(username="lead-retrain"), UserFactory(username="coder-retrain")
    project = demo_project_make({lead: Role.LEAD, analyst: Role.ANALYST}, demo_vectors, keep_labels=150)
    assert training_run(project_id=project.pk, task_id="v1").status == ModelVersion.Status.READY
    project.refresh_from_db()
    autocode_apply(project=project, user=lead, target=0.85)
    before = autocodes_current(project=project)
    assert len(before) >= 10
    # People code five of the model's responses (other themes than the model's) and five it left.
    left = sorted(set(project.responses.filter(annotations__isnull=True).values_list("pk", flat=True)) - set(before))
    overruled, coded_too = sorted(before)[:5], left[:5]
    theme = project.themes.order_by("pk").last()
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(pk, [theme.pk])
                                                            for pk in overruled + coded_too])
    human = sorted(Annotation.objects.filter(response__project=project).values_list("pk", "response_id"))
    v2 = training_run(project_id=project.pk, task_id="v2")
    assert v2.status == ModelVersion.Status.READY and v2.number == 2
    project.refresh_from_db()
    after = autocodes_current(project=project)
    assert AutoCoding.objects.get(project=project).model_number == 2
    assert not set(after) & set(overruled + coded_too)  # people's codes stand
    assert sorted(Annotation.objects.filter(response__project=project).values_list("pk", "response_id")) == human
    expected = autocode_preview(project=project, target=0.85)  # what v2 decides now, read apart
    assert after == {pk: frozenset(t) for pk, t in zip(expected.response_ids, expected.themes, strict=True)}
    # The queue leaves the model's codes out.
    assert not set(after) & set(LabelQueue.objects.get(project=project).response_ids)
