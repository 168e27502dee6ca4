"""Filtering responses: the flagged filter of the Responses page."""
import pytest

from labeling_app.labeling.selectors.responses import response_coding, responses_filter
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db


def test_flagged_filter_and_coding_of_one_response(prepare_project):
    project, analyst = prepare_project.project, prepare_project.analyst
    price, delivery = prepare_project.themes
    a, b, c = ResponseFactory.create_batch(3, project=project)
    annotation_submit(project=project, user=analyst, items=[
        AnnotationItem(a.pk, [price.pk], flagged=True), AnnotationItem(b.pk, [delivery.pk])])
    assert list(responses_filter(project=project, flagged=True)) == [a]
    # A later, unflagged coding of the same response by the same analyst clears it from the filter.
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(a.pk, [delivery.pk])])
    assert list(responses_filter(project=project, flagged=True)) == []

    coding = response_coding(project=project, user=analyst, response_id=a.pk)
    assert coding is not None and (coding.theme_ids, coding.flagged) == ([delivery.pk], False)
    assert response_coding(project=project, user=analyst, response_id=c.pk).theme_ids == []
    assert response_coding(project=project, user=analyst, response_id=ResponseFactory().pk) is None


def test_the_theme_filter_matches_the_consensus_rules_on_every_kind_of_coding(prepare_project):
    """One rule: the SQL half of the theme filter (ordinary responses) and the Python half (several coders, a
    lead's decision, blind items) together select exactly the responses the consensus resolves to the theme."""
    import random

    from labeling_app.labeling.selectors.consensus import consensus_for_project
    from labeling_app.labeling.services.annotations import annotations_add_theme
    from labeling_app.review.services.adjudication import disagreement_resolve, overlap_configure

    pp = prepare_project
    project, (price, delivery) = pp.project, pp.themes
    ResponseFactory.create_batch(60, project=project)
    overlap_configure(project=project, share=0.3, coders=2, participant_ids=[pp.analyst.pk, pp.analyst2.pk])
    rng = random.Random(7)
    ids = sorted(project.responses.values_list("pk", flat=True))
    choices = [[], [price.pk], [delivery.pk], [price.pk, delivery.pk]]
    for coder in (pp.analyst, pp.analyst2, pp.lead):
        picked = rng.sample(ids, 35)
        annotation_submit(project=project, user=coder,
                          items=[AnnotationItem(r, rng.choice(choices)) for r in picked])
    annotations_add_theme(project=project, user=pp.admin, response_ids=rng.sample(ids, 10), theme_id=delivery.pk)
    consensus = consensus_for_project(project=project)
    assert consensus.disagreements and consensus.pending and consensus.resolved  # every kind is there
    for r in sorted(consensus.disagreements)[:4]:
        disagreement_resolve(project=project, lead=pp.lead, response_id=r, theme_ids=rng.choice(choices[1:]))
    consensus = consensus_for_project(project=project)
    for theme in (price, delivery):
        expected = sorted(r for r, themes in consensus.resolved.items() if theme.pk in themes)
        found = list(responses_filter(project=project, theme_id=theme.pk, blind_for=pp.outsider.pk)
                     .values_list("pk", flat=True))
        assert found == expected
    uncoded = set(responses_filter(project=project, uncoded=True).values_list("pk", flat=True))
    touched = set(consensus.resolved) | consensus.disagreements | consensus.pending
    assert uncoded == set(ids) - touched
