"""`load_demo`: the demo survey and the NHS project (few coded, the rest to do), loaded once."""
import pytest
from django.core.management import call_command

from labeling_app.importing.demo import DEMO_PROJECT, NHS_PROJECT
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.counts import project_counts
from labeling_app.projects.models import Membership, Project


@pytest.mark.django_db
def test_load_demo_twice_loads_each_project_once(nhs_file, capsys):
    call_command("load_demo", nhs_dir=nhs_file.parent)
    out = capsys.readouterr().out
    nhs = Project.objects.get(name=NHS_PROJECT)
    assert nhs.score_higher_is_better is False  # FFT: 1 = very good
    assert Project.objects.get(name=DEMO_PROJECT).score_higher_is_better is True
    counts = project_counts(project=nhs)
    # The project's own theme count: the 300 coded answers name only 35 of the framework's 45 themes.
    assert f"{NHS_PROJECT}: imported 6205 responses, 45 themes, {counts['labels']} labels" in out
    assert nhs.import_jobs.get().themes_in_file == 35
    assert counts["responses"] == 6205 and counts["coded_responses"] == 300 and counts["themes"] == 45
    assert Annotation.objects.filter(response__project=nhs).count() == 300
    # The whole framework is there to code with, including themes none of the 300 has.
    assert nhs.themes.filter(annotations__isnull=True).exists()
    demo = Project.objects.get(name=DEMO_PROJECT)
    assert demo.responses.exists() and project_counts(project=demo)["coded_responses"] > 0
    assert Membership.objects.filter(project=nhs).count() == 3
    before = {p.pk: project_counts(project=p) for p in (nhs, demo)}

    call_command("load_demo", nhs_dir=nhs_file.parent)
    out = capsys.readouterr().out
    assert f"{DEMO_PROJECT}: already loaded" in out and f"{NHS_PROJECT}: already loaded" in out
    assert {p.pk: project_counts(project=p) for p in (nhs, demo)} == before
    assert Project.objects.count() == 2


@pytest.mark.django_db
def test_no_nhs_skips_it(capsys):
    call_command("load_demo", no_nhs=True)
    assert not Project.objects.filter(name=NHS_PROJECT).exists()
    assert Project.objects.filter(name=DEMO_PROJECT).exists()
