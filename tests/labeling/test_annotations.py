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


def test_a_batch_writes_links_audit_and_leases_in_as_many_statements_as_one_item(prepare_project):
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from labeling_app.audit.models import AuditEvent
    from labeling_app.labeling.models import QueueLease

    pp = prepare_project
    price, delivery = pp.themes
    first, second, third = list(pp.project.responses.order_by("pk"))
    later = timezone.now() + timedelta(minutes=30)
    for response, user in [(first, pp.analyst), (second, pp.analyst), (second, pp.analyst2), (third, pp.analyst)]:
        QueueLease.objects.create(project=pp.project, response=response, user=user, expires_at=later)
    with CaptureQueriesContext(connection) as one:
        annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(first.pk, [price.pk])])
    with CaptureQueriesContext(connection) as two:
        annotation_submit(project=pp.project, user=pp.analyst2, items=[
            AnnotationItem(second.pk, [price.pk, delivery.pk, price.pk]), AnnotationItem(third.pk, [delivery.pk])])
    assert len(two.captured_queries) == len(one.captured_queries)  # no statement per item or per theme
    links = {a.response_id: sorted(a.themes.values_list("pk", flat=True))
             for a in Annotation.objects.filter(is_current=True, coder=pp.analyst2)}
    assert links == {second.pk: sorted([price.pk, delivery.pk]), third.pk: [delivery.pk]}
    # Each coder's own leases of what they coded go; another's lease of the same response stays.
    assert set(QueueLease.objects.values_list("response_id", "user_id")) == {
        (second.pk, pp.analyst.pk), (third.pk, pp.analyst.pk)}
    changes = AuditEvent.objects.filter(project=pp.project, action="labels.change").order_by("id")
    assert [(e.target_id, e.after["themes"]) for e in changes] == [
        (str(first.pk), ["Price"]), (str(second.pk), ["Delivery", "Price"]), (str(third.pk), ["Delivery"])]
