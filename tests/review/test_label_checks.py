"""Check labels: a retrain flags the human codes its out-of-fold probabilities most disagree with; a lead confirms or
fixes them, and each flag goes once looked at."""
import pytest

from labeling_app.audit.models import AuditEvent
from labeling_app.labeling.models import Adjudication, Annotation, LabelCheck
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.label_checks import label_checks_open
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from labeling_app.review.services.label_checks import label_check_decide
from tests.conftest import demo_project_make
from tests.factories import UserFactory

PLANTED = 4


@pytest.fixture
def flagged(db, demo_vectors):
    """The demo with 150 coded responses, 4 of them given a wrong theme (a coder's slip), and a trained version."""
    lead, analyst = UserFactory(username="lee-checker"), UserFactory(username="ann-coded")
    project = demo_project_make({lead: Role.LEAD, analyst: Role.ANALYST}, demo_vectors, keep_labels=150)
    themes = list(project.themes.order_by("order", "pk"))
    planted = []
    for annotation in Annotation.objects.filter(response__project=project).order_by("response_id")[:60:15]:
        had = set(annotation.themes.values_list("pk", flat=True))
        wrong = next(t for t in reversed(themes) if t.pk not in had)
        annotation.themes.set([wrong.pk])
        planted.append(annotation.response_id)
    version = training_run(project_id=project.pk, task_id="v1")
    assert version.status == ModelVersion.Status.READY, version.error
    project.refresh_from_db()
    return {"project": project, "lead": lead, "analyst": analyst, "planted": planted, "version": version}


def test_a_retrain_flags_planted_slips_among_its_first_and_states_its_gate_correction(flagged):
    version, project = flagged["version"], flagged["project"]
    coded = set(consensus_for_project(project=project).resolved)
    flags = [row["response"] for row in version.label_issues]
    assert flags and set(flags) <= coded and len(flags) == len(set(flags))
    scores = [row["score"] for row in version.label_issues]
    assert all(0.0 <= s <= 1.0 for s in scores)
    # 4 slips among 150 codes: at least 3 are in the first 20 flags (20 at random would catch 4 x 20/150 ~ 0.5).
    assert len(set(flagged["planted"]) & set(flags[:20])) >= 3, (flagged["planted"], flags[:20])
    correction = version.gate_correction
    assert set(correction) == {"fp_scale", "fn_scale", "rows"} and correction["rows"] > 0
    assert correction["fp_scale"] > 0 and correction["fn_scale"] > 0
    # The model file does not carry the out-of-fold matrix.
    assert ModelVersion.objects.get(pk=version.pk).artifact


def test_a_lead_confirms_or_fixes_a_flag_and_it_is_not_shown_again(flagged):
    project, lead = flagged["project"], flagged["lead"]
    open_flags = label_checks_open(project=project, limit=500)
    assert [row["response"] for row in open_flags] == [row["response"] for row in flagged["version"].label_issues]
    first, second = open_flags[0], open_flags[1]
    assert first["given"] and first["text"]
    label_check_decide(project=project, lead=lead, response_id=first["response"])
    right = [t["id"] for t in second["model"]] or [project.themes.first().pk]
    label_check_decide(project=project, lead=lead, response_id=second["response"], theme_ids=right)
    remaining = [row["response"] for row in label_checks_open(project=project, limit=500)]
    assert first["response"] not in remaining and second["response"] not in remaining
    assert len(remaining) == len(open_flags) - 2
    assert consensus_for_project(project=project).resolved[second["response"]] == frozenset(right)
    assert Adjudication.objects.get(response_id=second["response"], is_current=True).decided_by == lead
    assert list(LabelCheck.objects.order_by("pk").values_list("decision", flat=True)) == ["confirmed", "fixed"]
    assert AuditEvent.objects.filter(project=project, action="labels.check").count() == 2
    with pytest.raises(Exception, match="no theme chosen"):
        label_check_decide(project=project, lead=lead, response_id=open_flags[2]["response"], theme_ids=[])


def test_only_leads_check_labels(flagged, client):
    project = flagged["project"]
    url = f"/api/projects/{project.pk}/label-checks/"
    client.force_login(flagged["analyst"])
    assert client.get(url).status_code == 403
    assert client.get(f"/projects/{project.pk}/check-labels/").status_code == 403
    client.force_login(flagged["lead"])
    rows = client.get(url).json()["results"]
    assert rows and rows[0]["response"] == flagged["version"].label_issues[0]["response"]
    page = client.get(f"/projects/{project.pk}/check-labels/")
    assert page.status_code == 200 and page.content.decode().count('class="card label-check"') == min(20, len(rows))
    answer = client.post(url, {"response": rows[0]["response"]}, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["decision"] == "confirmed"
    assert client.post(url, {"response": 10**9}, content_type="application/json").status_code == 400
