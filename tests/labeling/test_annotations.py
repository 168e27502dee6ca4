"""Submitting labels: completeness, who changed what, and all-or-nothing checks."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.labeling.models import Annotation
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit, annotations_add_theme

pytestmark = pytest.mark.django_db


def test_a_submit_is_complete_and_records_who_changed_it(prepare_project):
    pp = prepare_project
    response = pp.project.responses.first()
    (made,) = annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(response.pk, [])])
    assert made.is_complete and made.changed_by == pp.analyst and made.coder == pp.analyst


def test_adding_a_theme_in_bulk_keeps_earlier_themes_and_completeness(prepare_project):
    pp = prepare_project
    price, delivery = pp.themes
    first, second, _ = list(pp.project.responses.order_by("pk"))
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(first.pk, [price.pk])])
    annotations_add_theme(project=pp.project, user=pp.analyst, response_ids=[first.pk, second.pk],
                          theme_id=delivery.pk, source=Annotation.Source.SUGGESTION)
    current = {a.response_id: a for a in Annotation.objects.filter(is_current=True, coder=pp.analyst)}
    assert set(current[first.pk].themes.values_list("pk", flat=True)) == {price.pk, delivery.pk}
    assert current[first.pk].is_complete and not current[second.pk].is_complete
    assert current[first.pk].supersedes.themes.count() == 1  # the earlier version kept as history


def test_a_bad_item_saves_nothing(prepare_project):
    pp = prepare_project
    response = pp.project.responses.first()
    with pytest.raises(ValidationError, match="appears twice"):
        annotation_submit(project=pp.project, user=pp.analyst,
                          items=[AnnotationItem(response.pk, []), AnnotationItem(response.pk, [pp.themes[0].pk])])
    assert not Annotation.objects.exists()
