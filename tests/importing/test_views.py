"""Progress partials: a finished import carries the project's fresh counts; failed jobs are marked failed."""
import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.modeling.models import EmbeddingRun


def _admin(prepare_project):
    client = Client()
    client.force_login(prepare_project.admin)
    return client


def _progress(client, project, job):
    return client.get(reverse("import-progress", args=[project.pk, job.pk])).content.decode()


@pytest.mark.django_db
def test_a_finished_import_swaps_in_the_new_counts(prepare_project):
    project = prepare_project.project
    job = import_file_run(project=project, user=None, upload=ContentFile(
        b"respondent_id,response,theme\nN1,Too dear,Price\nN2,Late again,Delivery\nN3,Moving house,\n", name="n.csv"))
    assert job.status == ImportJob.Status.SUCCEEDED
    html = _progress(_admin(prepare_project), project, job)
    counts = re.search(r'<ul class="stats" id="project-counts" hx-swap-oob="true">(.*?)</ul>', html, re.S)
    assert counts, html
    assert re.search(r'data-count="responses">6<', counts.group(1))  # 3 before + 3 imported
    assert re.search(r'data-count="coded">2<', counts.group(1))


@pytest.mark.django_db
def test_a_running_or_failed_import_leaves_the_counts_alone_and_a_failed_bar_is_marked(prepare_project):
    project = prepare_project.project
    client = _admin(prepare_project)
    running = ImportJob.objects.create(project=project, file=ContentFile(b"x", name="r.csv"), original_name="r.csv",
                                       status=ImportJob.Status.RUNNING)
    assert "project-counts" not in _progress(client, project, running)
    failed = ImportJob.objects.create(project=project, file=ContentFile(b"x", name="f.csv"), original_name="f.csv",
                                      status=ImportJob.Status.FAILED, progress=100, message="row 2: empty response")
    html = _progress(client, project, failed)
    assert "project-counts" not in html
    assert re.search(r'<progress max="100" value="100" class="failed">', html)
    assert 'class="pct"' not in html and "row 2: empty response" in html


@pytest.mark.django_db
def test_a_failed_embedding_run_is_marked_failed(prepare_project):
    project = prepare_project.project
    EmbeddingRun.objects.create(project=project, status=EmbeddingRun.Status.FAILED, message="model missing")
    html = _admin(prepare_project).get(reverse("embedding-progress", args=[project.pk])).content.decode()
    assert 'class="failed"' in html and "model missing" in html
