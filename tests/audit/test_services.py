"""The audit service: who a change is attributed to, and one row per recorded change."""
import pytest
from django.test import Client

from labeling_app.audit.models import AuditEvent
from labeling_app.audit.services import Change, acting_as, audit_actor_set, audit_record, audit_record_many
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_changes_are_the_actor_s_inside_acting_as_and_the_system_s_outside():
    project, lead = ProjectFactory(), UserFactory(username="lena")
    with acting_as(lead):
        audit_record(project=project, action="theme.create", target_type="theme", target_id=7, after={"name": "A"})
    audit_record(project=project, action="theme.create", target_type="theme", target_id=8)
    inside, outside = AuditEvent.objects.filter(project=project).order_by("id")
    assert (inside.actor_id, inside.actor_name, inside.target_id, inside.after) == (lead.pk, "lena", "7", {"name": "A"})
    assert (outside.actor_id, outside.actor_name) == (None, "")


def test_a_request_s_user_is_forgotten_when_the_request_ends():
    project, user = ProjectFactory(), UserFactory()
    audit_actor_set(user)
    Client().get("/login/")  # any request: its start and end forget the actor
    audit_record_many(project=project, changes=[Change("labels.change", "response", 1), Change("labels.change",
                                                                                               "response", 2)])
    assert list(AuditEvent.objects.filter(project=project).values_list("actor_id", "target_id").order_by("id")) \
        == [(None, "1"), (None, "2")]
