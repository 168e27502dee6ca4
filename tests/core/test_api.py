"""What the API does, beyond who may call it."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.projects.models import Role


@pytest.mark.django_db
def test_creating_a_project_makes_you_its_admin(prepare_project):
    client = prepare_project.client("analyst")
    created = client.post("/api/projects/", {"name": "Churn Q3", "question": "Why?"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["role"] == Role.ADMIN
    names = [p["name"] for p in client.get("/api/projects/").json()["results"]]
    assert sorted(names) == ["Cancellations", "Churn Q3"]


@pytest.mark.django_db
def test_a_project_name_used_by_another_team_is_yours_to_use_and_yours_only_once(prepare_project):
    # "Other project" belongs to nobody the analyst knows: creating one of that name must not reveal it exists.
    client = prepare_project.client("analyst")
    mine = client.post("/api/projects/", {"name": "Other project"}, format="json")
    assert mine.status_code == 201, mine.content
    again = client.post("/api/projects/", {"name": "Other project"}, format="json")
    assert again.status_code == 400
    assert again.json()["message"] == "name: you already have a project named 'Other project'"
    # The page says the same.
    from django.test import Client

    page = Client()
    page.force_login(prepare_project.analyst)
    answer = page.post("/projects/", {"name": "Other project", "question": "", "labeling_batch_size": 10})
    assert answer.status_code == 200 and b"you already have a project named" in answer.content


@pytest.mark.django_db
def test_response_filters(prepare_project):
    project = prepare_project.project
    csv = ("respondent_id,response,theme,plan\nF1,Far too expensive,Price,Basic\nF2,Late delivery,Delivery,Family\n"
           "F3,Late and expensive,Price,Family\nF3,Late and expensive,Delivery,Family\nF4,No reason,,Basic\n")
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", csv.encode()))
    client = prepare_project.client("analyst")
    base = f"/api/projects/{project.pk}/responses/"

    def ids(**params):
        return sorted(r["respondent_id"] for r in client.get(base, params).json()["results"]
                      if r["respondent_id"].startswith("F"))

    price = prepare_project.themes[0].pk
    assert ids(theme=price) == ["F1", "F3"]
    assert ids(search="late") == ["F2", "F3"]
    assert ids(meta="plan:Family") == ["F2", "F3"]
    assert ids(meta="plan:Family", theme=price) == ["F3"]
    assert ids(uncoded="true") == ["F4"]
    f3 = next(r for r in client.get(base, {"search": "F3"}).json()["results"])
    assert [t["name"] for t in f3["themes"]] == ["Price", "Delivery"]


@pytest.mark.django_db
def test_theme_names_are_unique_and_errors_have_one_shape(prepare_project):
    client = prepare_project.client("admin")
    url = f"/api/projects/{prepare_project.project.pk}/themes/"
    made = client.post(url, {"name": "Value", "colour": "#112233"}, format="json")
    assert made.status_code == 201 and made.json()["shortcut"] not in ("", "1", "2")
    dup = client.post(url, {"name": "Price"}, format="json")
    assert dup.status_code == 400
    assert set(dup.json()) == {"message", "details"}
    archived = client.patch(f"{url}{made.json()['id']}/", {"archived": True}, format="json")
    assert archived.json()["archived"] is True and archived.json()["shortcut"] == ""


@pytest.mark.django_db
def test_the_last_admin_cannot_leave(prepare_project):
    client = prepare_project.client("admin")
    me = prepare_project.project.memberships.get(user=prepare_project.admin)
    url = f"/api/projects/{prepare_project.project.pk}/members/{me.pk}/"
    assert client.patch(url, {"role": "analyst"}, format="json").status_code == 400
    assert client.delete(url).status_code == 400
    me.refresh_from_db()
    assert me.role == Role.ADMIN


@pytest.mark.django_db
def test_upload_through_the_api_queues_a_job_and_bad_uploads_are_refused(prepare_project,
                                                                        django_capture_on_commit_callbacks):
    client = prepare_project.client("admin")
    url = f"/api/projects/{prepare_project.project.pk}/imports/"
    empty = client.post(url, {"file": SimpleUploadedFile("e.csv", b"")}, format="multipart")
    assert empty.status_code == 400
    assert "empty" in empty.json()["message"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        made = client.post(url, {"file": SimpleUploadedFile("ok.csv", b"respondent_id,response\nQ,hi\n")},
                           format="multipart")
    assert made.status_code == 201
    assert made.json()["status"] == ImportJob.Status.PENDING
    assert len(callbacks) == 1  # the task is sent only after the job row is committed
