"""Bulk accept and reject of suggestions: by default exactly what the model suggests, by each theme's threshold."""
import pytest

from labeling_app.selectors.predictions import suggestions_band
from labeling_app.services.suggestions import suggestions_accept, suggestions_reject
from tests.factories import ResponseFactory, ThemeFactory
from tests.model_versions import model_version_make

pytestmark = pytest.mark.django_db


def test_accept_and_reject_default_to_the_theme_threshold(prepare_project):
    project, analyst, analyst2 = prepare_project.project, prepare_project.analyst, prepare_project.analyst2
    rare = ThemeFactory(project=project, name="Rare", shortcut="3")
    common = ThemeFactory(project=project, name="Common", shortcut="4")
    responses = ResponseFactory.create_batch(4, project=project)
    model_version_make(project=project, theme_ids=[rare.pk, common.pk], thresholds=[0.15, 0.85],
                       probabilities={r.pk: p for r, p in zip(responses, [[0.2, 0.95], [0.1, 0.6], [0.4, 0.9],
                                                                          [0.05, 0.3]], strict=True)})
    # Rare: 0.2 and 0.4 clear 0.15 (a fixed 0.5 would take neither); common: 0.95 and 0.9 clear 0.85.
    assert suggestions_accept(project=project, user=analyst, theme=rare, preview=True) == 2
    assert suggestions_reject(project=project, user=analyst2, theme=common, preview=True) == 2
    assert suggestions_accept(project=project, user=analyst, theme=rare) == 2
    mine = {a.response_id: set(a.themes.values_list("pk", flat=True))
            for a in analyst.annotations.filter(is_current=True)}
    assert mine == {responses[0].pk: {rare.pk}, responses[2].pk: {rare.pk}}
    # Coded responses leave the band, so nothing is left to reject; a 0.5 band below the threshold has one.
    assert suggestions_reject(project=project, user=analyst2, theme=common) == 0
    assert [row["response"] for row in suggestions_band(project=project, theme_id=common.pk, min_probability=0.5,
                                                        max_probability=1)] == [responses[1].pk]
