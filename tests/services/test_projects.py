"""Projects: the creator becomes the first admin; settings are validated and trimmed."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.models import Role
from labeling_app.services.projects import project_create, project_update
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
