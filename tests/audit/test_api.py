"""The audit trail: changes of labels, themes, membership and settings are recorded with who, when, before and
after, and only admins see them."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from labeling_app.audit.models import AuditEvent
from labeling_app.importing.services import import_file_run
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _events(prepared, **params):
    answer = prepared.client("admin").get(f"/api/projects/{prepared.project.pk}/audit/", params)
    assert answer.status_code == 200
    return answer.json()["results"]


def test_changes_through_the_api_are_recorded_with_their_author(prepare_project):
    p = prepare_project
    base = f"/api/projects/{p.project.pk}/"
    price, delivery = p.themes
    response = p.project.responses.order_by("pk").first()
    analyst = p.client("analyst")
    assert analyst.post(base + "annotations/", [{"response": response.pk, "themes": [price.pk]}],
                        format="json").status_code == 201
    assert analyst.post(base + "annotations/", [{"response": response.pk, "themes": [price.pk, delivery.pk]}],
                        format="json").status_code == 201
    admin = p.client("admin")
    assert admin.patch(base + f"themes/{price.pk}/", {"name": "Too expensive"}, format="json").status_code == 200
    newcomer = UserFactory(username="newcomer")
    invited = admin.post(base + "invitations/", {"username": "newcomer", "role": "lead"}, format="json")
    assert invited.status_code == 202
    newcomer_client = APIClient()
    newcomer_client.force_authenticate(newcomer)
    assert newcomer_client.post(f"/api/invitations/{invited.json()['invitation']['id']}/accept/").status_code == 200
    assert admin.patch(base, {"labeling_batch_size": 25}, format="json").status_code == 200

    events = _events(p)
    by_action = {}
    for e in events:
        by_action.setdefault(e["action"], []).append(e)
    first, second = sorted(by_action["labels.change"], key=lambda e: e["id"])
    assert first["actor"] == "ana-analyst" and first["target_id"] == str(response.pk)
    assert first["before"] is None and first["after"]["themes"] == ["Price"]
    assert second["before"]["themes"] == ["Price"] and second["after"]["themes"] == ["Delivery", "Price"]
    rename = by_action["theme.update"][0]
    assert rename["actor"] == "alice-admin"
    assert rename["before"] == {"name": "Price"} and rename["after"] == {"name": "Too expensive"}
    assert by_action["invitation.create"][0]["actor"] == "alice-admin"
    joined = by_action["member.add"][0]
    assert joined["actor"] == "newcomer"  # accepting is the invitee's own act
    assert joined["after"] == {"user": "newcomer", "role": "lead", "invited_by": "alice-admin"}
    settings = by_action["project.settings"][0]
    assert settings["before"]["labeling_batch_size"] != 25 and settings["after"] == {"labeling_batch_size": 25}
    assert all(e["created_at"] for e in events)
    assert [e["action"] for e in _events(p, action="theme.update")] == ["theme.update"]


def test_only_admins_see_the_audit_trail(prepare_project):
    p = prepare_project
    url = f"/api/projects/{p.project.pk}/audit/"
    assert p.client("lead").get(url).status_code == 403
    assert p.client("analyst").get(url).status_code == 403
    assert p.client("outsider").get(url).status_code == 404
    page = f"/projects/{p.project.pk}/audit/"
    for username, status in [("alice-admin", 200), ("lee-lead", 403), ("oscar-outsider", 404)]:
        browser = Client()
        assert browser.login(username=username, password=PASSWORD)
        assert browser.get(page).status_code == status


def test_a_page_change_is_attributed_to_the_signed_in_admin(prepare_project):
    p = prepare_project
    browser = Client()
    assert browser.login(username="alice-admin", password=PASSWORD)
    browser.post(f"/projects/{p.project.pk}/settings/", {
        "name": p.project.name, "question": "Why did you leave us?", "labeling_batch_size": 20,
        "active_learning_strategy": p.project.active_learning_strategy})
    event = AuditEvent.objects.get(project=p.project, action="project.settings")
    assert event.actor_name == "alice-admin" and event.after["question"] == "Why did you leave us?"
    page = browser.get(f"/projects/{p.project.pk}/audit/")
    assert b"Why did you leave us?" in page.content and b"alice-admin" in page.content


def test_an_import_run_by_the_worker_is_the_uploader_s(prepare_project):
    p = prepare_project
    rows = "respondent_id,response,theme\nX1,Too dear,Price\n"
    import_file_run(project=p.project, user=p.admin, upload=SimpleUploadedFile("more.csv", rows.encode()))
    event = AuditEvent.objects.get(project=p.project, action="import")
    assert event.actor_name == "alice-admin" and event.after["labels"] == 1 and "more.csv" in event.summary


def test_one_request_s_user_is_not_lent_to_later_changes(prepare_project):
    from labeling_app.themes.services.themes import theme_create

    p = prepare_project
    assert p.client("admin").get(f"/api/projects/{p.project.pk}/themes/").status_code == 200
    theme_create(project=p.project, name="Made by a command")  # no request: the system's change
    event = AuditEvent.objects.get(project=p.project, action="theme.create")
    assert event.actor_id is None and event.actor_name == ""


def test_the_audit_page_and_api_show_changes_as_readable_lines_not_raw_values(prepare_project):
    from labeling_app.audit.services import acting_as
    from labeling_app.review.services.adjudication import overlap_configure
    from labeling_app.themes.services.themes import theme_update

    p = prepare_project
    with acting_as(p.admin):
        overlap_configure(project=p.project, share=0.5, coders=2)
        theme_update(theme=p.themes[0], name="Too expensive", description="Cost or fees")
    browser = Client()
    assert browser.login(username="alice-admin", password=PASSWORD)
    page = browser.get(f"/projects/{p.project.pk}/audit/").content.decode()
    assert "<div>overlap share: 0% → 50%</div>" in page
    assert "<div>name: Price → Too expensive</div>" in page
    assert "<div>description: (empty) → Cost or fees</div>" in page
    assert "{" not in page.split('class="table audit-log"')[1].split("</table>")[0]  # no raw dict or list
    overlap = _events(p, action="project.overlap")[0]
    assert overlap["changes"][0] == "overlap share: 0% → 50%"
    assert overlap["before"] == {"overlap_share": 0.0, "overlap_coders": 2}  # the raw values stay for programs
