"""Suggestions from the first response: before any label the theme names suggest (by embedding similarity), and
the first trained version takes over."""
import numpy as np
import pytest

from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.modeling.models import ModelVersion, ZeroShotSuggestions
from labeling_app.modeling.selectors.predictions import suggestions_for_responses
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from tests.conftest import demo_project_make
from tests.factories import UserFactory


def _micro_f1(gold: dict[int, frozenset[int]], suggested: dict[int, set[int]]) -> float:
    tp = sum(len(gold[r] & suggested[r]) for r in gold)
    fp = sum(len(suggested[r] - gold[r]) for r in gold)
    fn = sum(len(gold[r] - suggested[r]) for r in gold)
    return 2 * tp / (2 * tp + fp + fn)


def test_with_no_label_the_theme_names_suggest_and_the_first_model_takes_over(db, demo_vectors):
    analyst = UserFactory(username="first-coder")
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    gold = dict(consensus_for_project(project=project).resolved)  # the demo's codes, kept aside
    Annotation.objects.filter(response__project=project).delete()
    assert training_run(project_id=project.pk, task_id="nothing-yet") is None  # no version: nothing to learn from
    assert not ModelVersion.objects.filter(project=project).exists()
    assert ZeroShotSuggestions.objects.filter(project=project).exists()
    ids = sorted(gold)
    shown = suggestions_for_responses(project=project, response_ids=ids)
    assert all(s["source"] == "theme names" for rows in shown.values() for s in rows)
    suggested = {r: {s["theme"] for s in shown[r] if s["suggested"]} for r in ids}
    assert all(suggested[r] for r in ids)  # every response gets at least its best-matching theme
    f1 = _micro_f1(gold, suggested)
    # Chance: every response given the commonest theme.
    counts = np.bincount([t for themes in gold.values() for t in themes])
    common = int(np.argmax(counts))
    chance = _micro_f1(gold, {r: {common} for r in ids})
    assert f1 >= 0.3 and f1 > chance + 0.1, (f1, chance)

    # The first labels train a version: its suggestions replace the theme names'.
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(r, sorted(gold[r])) for r in ids[:60]])
    version = training_run(project_id=project.pk, task_id="first")
    assert version is not None and version.status == ModelVersion.Status.READY, version and version.error
    project.refresh_from_db()
    shown = suggestions_for_responses(project=project, response_ids=ids[60:70])
    assert {s["source"] for rows in shown.values() for s in rows} == {"model"}


@pytest.mark.django_db
def test_a_project_with_no_theme_has_no_suggestions_from_names(demo_vectors):
    analyst = UserFactory(username="no-themes")
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    Annotation.objects.filter(response__project=project).delete()
    project.themes.update(archived=True)
    assert training_run(project_id=project.pk, task_id="no-themes") is None
    assert not ZeroShotSuggestions.objects.filter(project=project).exists()
