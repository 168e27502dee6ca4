"""Derived files in the media store go with what they derive from: a deleted project takes its embedding store,
model files and runs' files; a finished discovery run removes the files of the project's older runs, which
are rebuilt if such a run is viewed again. Nothing is removed when the delete rolls back."""
import json

import pytest
from django.db import transaction

from labeling_app.core.media_files import project_folders_get, run_folder_path
from labeling_app.discovery.models import DiscoveryRun
from labeling_app.discovery.selectors import map_points_json
from labeling_app.discovery.services import discovery_layout_compute, discovery_run_execute
from labeling_app.modeling.selectors.embeddings import embedding_store_get
from labeling_app.projects.models import Role
from tests.conftest import demo_project_make

pytestmark = pytest.mark.django_db(transaction=True)


def _finished_run(project) -> DiscoveryRun:  # type: ignore[no-untyped-def]
    run = discovery_run_execute(discovery_run_id=DiscoveryRun.objects.create(project=project, n_clusters=4).pk)
    assert run is not None and run.status == DiscoveryRun.Status.SUCCEEDED, run and run.message
    discovery_layout_compute(discovery_run_id=run.pk)
    run.refresh_from_db()
    map_points_json(run=run)  # writes the run's map file
    return run


@pytest.fixture
def project(analyst, demo_vectors):  # type: ignore[no-untyped-def]
    return demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)


def test_deleting_a_project_removes_its_files_and_keeps_other_projects(project, analyst, demo_vectors):
    other = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)
    runs = [_finished_run(project), _finished_run(other)]
    for p in (project, other):
        embedding_store_get(project=p)
        (project_folders_get(p.pk)[1]).mkdir(parents=True, exist_ok=True)  # as a retrain's model files would
        (project_folders_get(p.pk)[2]).mkdir(parents=True, exist_ok=True)  # as a printed report would
    pk = project.pk
    assert all(f.is_dir() for f in project_folders_get(pk)) and run_folder_path(runs[0].pk).is_dir()

    project.delete()

    assert not [f for f in project_folders_get(pk) if f.exists()]
    assert not run_folder_path(runs[0].pk).exists()
    assert all(f.is_dir() for f in project_folders_get(other.pk)) and (run_folder_path(runs[1].pk) / "terms.npz").exists()


def test_a_rolled_back_delete_keeps_the_files(project):
    run, pk = _finished_run(project), project.pk
    embedding_store_get(project=project)
    with pytest.raises(RuntimeError), transaction.atomic():
        project.delete()
        raise RuntimeError("the delete is rolled back")
    assert project_folders_get(pk)[0].is_dir() and (run_folder_path(run.pk) / "map-fixed.json").exists()


def test_a_finished_run_removes_the_files_of_runs_older_than_the_newest_two(project):
    first, second = _finished_run(project), _finished_run(project)
    assert (run_folder_path(first.pk) / "terms.npz").exists()
    body = map_points_json(run=first)
    third = _finished_run(project)
    assert not run_folder_path(first.pk).exists()
    assert (run_folder_path(second.pk) / "terms.npz").exists() and (run_folder_path(third.pk) / "map-fixed.json").exists()
    # The old run is still viewable: its map is made again from the database, in memory (a read writes nothing).
    assert json.loads(map_points_json(run=first)) == json.loads(body)
    assert not run_folder_path(first.pk).exists()
