"""What coders see of a lead's review: the comment on a response sent back to them."""
import pytest

from labeling_app.labeling.models import Adjudication
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.review.selectors.notes import review_notes_read
from labeling_app.review.services.adjudication import disagreement_resolve, disagreement_send_back
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_review_notes_are_the_current_send_backs_read_in_one_query(prepare_project, django_assert_num_queries):
    pp = prepare_project
    first, second, third = pp.project.responses.order_by("pk")
    price, delivery = pp.themes
    for user, theme in ((pp.analyst, price), (pp.analyst2, delivery)):
        annotation_submit(project=pp.project, user=user, items=[AnnotationItem(first.pk, [theme.pk]),
                                                                AnnotationItem(second.pk, [theme.pk])])
    disagreement_send_back(project=pp.project, lead=pp.lead, response_id=first.pk,
                           comment="  Price is the fee, not the value  ")
    disagreement_send_back(project=pp.project, lead=pp.lead, response_id=second.pk, comment="look again")
    # Both coders code the second again and still differ: the lead decides, so its send-back is history.
    for user, theme in ((pp.analyst, price), (pp.analyst2, delivery)):
        annotation_submit(project=pp.project, user=user, items=[AnnotationItem(second.pk, [theme.pk])])
    disagreement_resolve(project=pp.project, lead=pp.lead, response_id=second.pk, theme_ids=[price.pk])

    with django_assert_num_queries(1):
        notes = review_notes_read(project=pp.project, response_ids=[first.pk, second.pk, third.pk])
    sent_back = Adjudication.objects.get(response=first, is_current=True)
    # The lead's words, who and when: nothing of either coder's themes.
    assert notes == {first.pk: {"comment": "Price is the fee, not the value", "by": pp.lead.username,
                                "at": sent_back.created_at}}
    assert review_notes_read(project=ProjectFactory(), response_ids=[first.pk]) == {}  # scoped to the project
    with django_assert_num_queries(0):
        assert review_notes_read(project=pp.project, response_ids=[]) == {}
