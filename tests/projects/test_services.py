"""Projects: the creator becomes the first admin; names are unique per owner; settings are validated and trimmed."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.audit.models import AuditEvent
from labeling_app.audit.services import acting_as
from labeling_app.projects.models import Role
from labeling_app.projects.services.projects import project_create, project_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_creator_is_the_first_admin_and_text_is_trimmed():
    owner = UserFactory(username="owner")
    project = project_create(user=owner, name="  Churn 2026 ", question=" Why? ")
    assert (project.name, project.question) == ("Churn 2026", "Why?")
    assert project.memberships.get().user == owner and project.memberships.get().role == Role.ADMIN


def test_an_unknown_strategy_is_refused(prepare_project):
    with pytest.raises(ValidationError):
        project_update(project=prepare_project.project, active_learning_strategy="guessing")
    prepare_project.project.refresh_from_db()
    assert prepare_project.project.active_learning_strategy != "guessing"  # nothing was saved
    project_update(project=prepare_project.project, labeling_batch_size=25)
    prepare_project.project.refresh_from_db()
    assert prepare_project.project.labeling_batch_size == 25


def test_names_are_unique_per_owner_and_the_error_speaks_only_of_your_own():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project_create(user=alice, name="Churn")
    theirs = project_create(user=bob, name="Churn")  # another owner: allowed, and nothing said about Alice's
    assert theirs.created_by == bob
    with pytest.raises(ValidationError) as refused:
        project_create(user=bob, name=" Churn ")
    assert refused.value.message_dict == {"name": ["you already have a project named 'Churn'"]}
    other = project_create(user=bob, name="Exit survey")
    with pytest.raises(ValidationError, match="already have a project named 'Churn'"), acting_as(bob):
        project_update(project=other, name="Churn")
    project_update(project=other, name="Churn 2")
    other.refresh_from_db()
    assert other.name == "Churn 2"


def test_the_creator_joins_by_a_recorded_direct_add():
    owner = UserFactory(username="owner")
    project = project_create(user=owner, name="Audited")
    assert list(AuditEvent.objects.filter(project=project).order_by("id").values_list("action", "actor")) == [
        ("project.create", owner.pk), ("member.add", owner.pk)]
