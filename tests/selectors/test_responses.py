"""Filtering responses: the flagged filter of the Responses page."""
import pytest

from labeling_app.selectors.responses import response_coding, responses_filter
from labeling_app.services.annotations import AnnotationItem, annotation_submit
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
