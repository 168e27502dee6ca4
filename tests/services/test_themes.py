"""Theme services: keys unique among live themes (the error names the theme); every change of the live set retrains."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.models import ModelVersion, Role
from labeling_app.services.themes import theme_create, theme_split, theme_update, themes_merge
from labeling_app.services.training import training_run
from tests.conftest import demo_project_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(analyst, demo_vectors):
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=120)
    assert training_run(project_id=project.pk, task_id="v1").status == ModelVersion.Status.READY
    assert training_run(project_id=project.pk, task_id="again") is None  # up to date
    project.refresh_from_db()
    return project


def _retrained(project, task_id: str) -> ModelVersion:
    version = training_run(project_id=project.pk, task_id=task_id)
    assert version is not None, "the change did not make the model out of date"
    assert version.status == ModelVersion.Status.READY, version.error
    return version


def test_archiving_and_restoring_a_theme_retrains_without_and_with_it(trained, django_capture_on_commit_callbacks):
    theme = trained.themes.order_by("order").last()
    with django_capture_on_commit_callbacks() as callbacks:
        theme_update(theme=theme, archived=True)
    assert callbacks, "no retrain was asked for"
    assert theme.pk not in _retrained(trained, "archived").theme_ids
    theme_update(theme=theme, archived=False)
    assert theme.pk in _retrained(trained, "restored").theme_ids
    theme_update(theme=theme, description="clearer wording")  # not a change of the live set
    assert training_run(project_id=trained.pk, task_id="described") is None


def test_merging_splitting_and_adding_themes_each_retrain(trained):
    first, second = list(trained.themes.order_by("order"))[:2]
    themes_merge(project=trained, source=second, target=first)
    assert second.pk not in _retrained(trained, "merged").theme_ids
    made = theme_split(project=trained, theme=first, names=["Price alone", "Price and value"])
    version = _retrained(trained, "split")
    assert first.pk not in version.theme_ids and {t.pk for t in made} <= set(version.theme_ids)
    new = theme_create(project=trained, name="Brand new theme")
    assert new.pk in _retrained(trained, "created").theme_ids


def test_a_used_key_is_refused_naming_the_theme(prepare_project):
    with pytest.raises(ValidationError) as caught:
        theme_create(project=prepare_project.project, name="Quality", shortcut="2")
    assert caught.value.message_dict["shortcut"][0].startswith("the key “2” is already used by the theme “Delivery”")
    with pytest.raises(ValidationError, match="“Price”"):
        theme_update(theme=prepare_project.themes[1], shortcut="1")


def test_an_archived_themes_key_is_free_again(prepare_project):
    price, _ = prepare_project.themes
    theme_update(theme=price, archived=True)
    assert theme_create(project=prepare_project.project, name="Quality", shortcut="1").shortcut == "1"
