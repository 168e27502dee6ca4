import time

import pytest
from django.core.management import CommandError, call_command

from labeling_app.projects.models import Project


@pytest.mark.django_db
def test_nhs_import_prints_its_summary_within_a_minute(nhs_file, capsys):
    started = time.monotonic()
    call_command("import_responses", str(nhs_file), project="NHS", question="What could we do better?")
    elapsed = time.monotonic() - started
    assert capsys.readouterr().out.strip() == "imported 6205 responses, 45 themes, 8603 labels"
    project = Project.objects.get(name="NHS")
    assert project.question == "What could we do better?"
    assert project.responses.count() == 6205
    assert elapsed < 60


@pytest.mark.django_db
def test_failed_import_leaves_no_project(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("respondent_id,response\nR1,\n")
    with pytest.raises(CommandError, match="row 2: empty response"):
        call_command("import_responses", str(bad), project="Broken")
    assert not Project.objects.filter(name="Broken").exists()


@pytest.mark.django_db
def test_load_demo_creates_project_and_role_users(capsys):
    call_command("load_demo", "--no-nhs")
    out = capsys.readouterr().out
    project = Project.objects.get(name="Why are you cancelling?")
    assert project.responses.count() >= 300
    assert {m.user.username: m.role for m in project.memberships.all()} == {
        "demo-admin": "admin", "demo-lead": "lead", "demo-analyst": "analyst"}
    assert "demo-analyst" in out and "password" in out
    call_command("load_demo", "--no-nhs")  # idempotent
    assert Project.objects.filter(name="Why are you cancelling?").count() == 1


@pytest.mark.django_db
def test_a_name_two_owners_use_is_refused_as_ambiguous_and_one_owners_is_found(tmp_path, capsys):
    from tests.factories import ProjectFactory, UserFactory

    first, second = UserFactory(username="first"), UserFactory(username="second")
    ProjectFactory(name="Shared", created_by=first)
    ProjectFactory(name="Shared", created_by=second)
    owned = ProjectFactory(name="Only mine", created_by=first)
    good = tmp_path / "ok.csv"
    good.write_text("respondent_id,response\nR1,hello\n")
    with pytest.raises(CommandError, match="several projects are named 'Shared'"):
        call_command("import_responses", str(good), project="Shared")
    call_command("import_responses", str(good), project="Only mine")
    assert owned.responses.count() == 1
    assert Project.objects.filter(name="Only mine").count() == 1
