"""Theme services: keys unique among live themes (the error names the theme); every change of the live set retrains."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.labeling.services.theme_recode import theme_merge, theme_split
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from labeling_app.themes.services.themes import theme_create, theme_update
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
    theme_merge(project=trained, source=second, target=first)
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


def _coded_project(n: int):
    """A project with n responses, each coded with "Price" and "Delivery" by one analyst, and a queue."""
    from labeling_app.labeling.models import Annotation, LabelQueue
    from tests.factories import ProjectFactory, ResponseFactory, ThemeFactory, UserFactory

    project, coder = ProjectFactory(), UserFactory()
    price, delivery = (ThemeFactory(project=project, name=name) for name in ("Price", "Delivery"))
    responses = ResponseFactory.create_batch(n, project=project)
    for response in responses:
        Annotation.objects.create(response=response, coder=coder).themes.set([price, delivery])
    LabelQueue.objects.create(project=project, response_ids=[r.pk for r in reversed(responses)])
    return project, price


def test_splitting_a_theme_takes_as_many_queries_on_many_labels_as_on_few():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from labeling_app.labeling.models import Annotation, LabelQueue

    counts = []
    for n in (3, 30):
        project, price = _coded_project(n)
        with CaptureQueriesContext(connection) as queries:
            theme_split(project=project, theme=price, names=["Too dear", "Poor value"])
        counts.append(len(queries))
        current = Annotation.objects.filter(response__project=project, is_current=True).prefetch_related("themes")
        assert len(current) == n and all([t.name for t in a.themes.all()] == ["Delivery"] for a in current)
        assert all(a.needs_recoding and a.supersedes_id for a in current)
        assert Annotation.objects.filter(response__project=project, themes=price).count() == n  # history kept
        queue = LabelQueue.objects.get(project=project).response_ids
        assert queue == sorted(queue) and len(queue) == n  # the affected responses first, in id order
    assert counts[0] == counts[1], f"{counts[0]} queries for 3 labels, {counts[1]} for 30"


class _CountedId(int):
    """An id that counts how often it is hashed (a set built from a list hashes each member once)."""

    hashed = 0

    def __hash__(self) -> int:
        type(self).hashed += 1
        return super().__hash__()


def test_moving_ids_to_the_front_builds_one_set_however_long_the_queue():
    from labeling_app.labeling.services.theme_recode import ids_to_front_move

    for size in (100, 1_000):
        _CountedId.hashed = 0
        front = [_CountedId(i) for i in range(0, size, 2)]
        assert ids_to_front_move(list(range(size - 1, -1, -1)), front) == [
            *range(0, size, 2), *range(size - 1, -1, -2)]
        # Once per id of `front`: rebuilt per queue entry it would be size * size / 2 (quadratic).
        assert _CountedId.hashed == len(front)
