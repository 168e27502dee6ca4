"""Bulk accept and reject of suggestions: the band is what the model suggests (each theme's threshold); what is
written is exactly the reviewed responses listed, never the band read again."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.labeling.models import Annotation, SuggestionRejection
from labeling_app.labeling.services.suggestions import suggestions_accept, suggestions_reject
from labeling_app.modeling.selectors.predictions import suggestions_band
from tests.factories import ResponseFactory, ThemeFactory
from tests.model_versions import model_version_make

pytestmark = pytest.mark.django_db


def _band(project, theme, min_probability=None):
    return [row["response"] for row in suggestions_band(project=project, theme_id=theme.pk,
                                                        min_probability=min_probability, max_probability=1)]


def test_accept_and_reject_write_exactly_the_listed_responses(prepare_project):
    project, analyst, analyst2 = prepare_project.project, prepare_project.analyst, prepare_project.analyst2
    rare = ThemeFactory(project=project, name="Rare", shortcut="3")
    common = ThemeFactory(project=project, name="Common", shortcut="4")
    responses = ResponseFactory.create_batch(4, project=project)
    model_version_make(project=project, theme_ids=[rare.pk, common.pk], thresholds=[0.15, 0.85],
                       probabilities={r.pk: p for r, p in zip(responses, [[0.2, 0.95], [0.1, 0.6], [0.4, 0.9],
                                                                          [0.05, 0.3]], strict=True)})
    # The default band is the theme's threshold: rare 0.4 and 0.2 clear 0.15 (a fixed 0.5 would take neither).
    assert _band(project, rare) == [responses[2].pk, responses[0].pk]
    # Only the listed (reviewed, ticked) responses are written: responses[2] was unticked.
    assert suggestions_accept(project=project, user=analyst, theme=rare, response_ids=[responses[0].pk]) == 1
    mine = {a.response_id: set(a.themes.values_list("pk", flat=True))
            for a in analyst.annotations.filter(is_current=True)}
    assert mine == {responses[0].pk: {rare.pk}}
    assert _band(project, rare) == [responses[2].pk]
    # Reject likewise: one of the two in common's band is rejected, the other is still offered.
    assert _band(project, common) == [responses[2].pk]
    assert suggestions_reject(project=project, user=analyst2, theme=common, response_ids=[responses[2].pk]) == 1
    assert [row["response"] for row in suggestions_band(
        project=project, theme_id=common.pk, min_probability=0.5, max_probability=1,
        exclude_rejected_by=analyst2.pk)] == [responses[1].pk]
    assert _band(project, common, 0.5) == [responses[2].pk, responses[1].pk]  # others still see it


def test_accept_and_reject_refuse_responses_of_another_project(prepare_project):
    project, analyst = prepare_project.project, prepare_project.analyst
    theme = ThemeFactory(project=project, name="Rare", shortcut="3")
    mine, foreign = ResponseFactory(project=project), ResponseFactory()
    for decide in (suggestions_accept, suggestions_reject):
        with pytest.raises(ValidationError, match="1 of the responses are not in this project"):
            decide(project=project, user=analyst, theme=theme, response_ids=[mine.pk, foreign.pk])
        with pytest.raises(ValidationError, match="no responses"):
            decide(project=project, user=analyst, theme=theme, response_ids=[])
    assert not Annotation.objects.exists() and not SuggestionRejection.objects.exists()
