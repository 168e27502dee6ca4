"""Invitations through the API and the pages: admins invite and revoke, the invitee accepts or declines, and
no answer tells which usernames exist (nor does signing in)."""
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from labeling_app.projects.models import Invitation
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _invite(pp, username, role="analyst"):
    return pp.client("admin").post(reverse("api-project-invitations", kwargs={"project_id": pp.project.pk}),
                                   {"username": username, "role": role}, format="json")


def test_inviting_answers_alike_for_known_unknown_and_inactive_usernames(prepare_project):
    UserFactory(username="gone-away", is_active=False)
    answers = {name: _invite(prepare_project, name) for name in ("oscar-outsider", "nobody-here", "gone-away")}
    assert {a.status_code for a in answers.values()} == {202}
    shapes = set()
    for name, answer in answers.items():
        body = answer.json()
        assert body["message"] == "invitation sent if the user exists"
        invitation = body["invitation"]
        assert invitation["username"] == name
        # Apart from the name, the id and the time, every answer is the same.
        shapes.add(tuple(sorted((k, v) for k, v in invitation.items() if k not in ("id", "username", "created_at"))))
    assert len(shapes) == 1
    listed = prepare_project.client("admin").get(
        reverse("api-project-invitations", kwargs={"project_id": prepare_project.project.pk})).json()["results"]
    assert {i["username"] for i in listed} == set(answers)


@pytest.mark.parametrize("body", [
    {"username": "", "role": "analyst"},
    {"username": "has spaces!", "role": "analyst"},
    {"username": "x" * 151, "role": "analyst"},
    {"username": "a\x00b", "role": "analyst"},
    {"username": "ok-name", "role": "owner"},
    {"role": "analyst"},
])
def test_malformed_invitations_are_a_clear_400(body, prepare_project):
    answer = prepare_project.client("admin").post(
        reverse("api-project-invitations", kwargs={"project_id": prepare_project.project.pk}), body, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"message", "details"} and answer.json()["message"]
    assert not Invitation.objects.exists()


def test_the_invitee_sees_the_project_only_after_accepting(prepare_project):
    pp = prepare_project
    invitation_id = _invite(pp, "oscar-outsider", role="lead").json()["invitation"]["id"]
    invitee = pp.client("outsider")
    project_url = reverse("api-project", kwargs={"project_id": pp.project.pk})
    assert invitee.get(project_url).status_code == 404
    assert [p["name"] for p in invitee.get("/api/projects/").json()["results"]] == ["Other project"]
    mine = invitee.get(reverse("api-invitations")).json()["results"]
    assert [(i["id"], i["project"]["name"], i["role"], i["invited_by"]) for i in mine] == \
        [(invitation_id, "Cancellations", "lead", "alice-admin")]
    assert pp.client("analyst").get(reverse("api-invitations")).json()["results"] == []
    # Nobody else can answer it, not even the admin who sent it.
    accept_url = reverse("api-invitation-accept", kwargs={"invitation_id": invitation_id})
    assert pp.client("admin").post(accept_url).status_code == 404
    accepted = invitee.post(accept_url)
    assert accepted.status_code == 200 and accepted.json() == {"project": pp.project.pk, "role": "lead"}
    assert invitee.get(project_url).json()["role"] == "lead"
    assert invitee.post(accept_url).status_code == 404  # answered: gone from the invitee's list
    assert invitee.get(reverse("api-invitations")).json()["results"] == []


def test_declining_and_revoking(prepare_project):
    pp = prepare_project
    first = _invite(pp, "oscar-outsider").json()["invitation"]["id"]
    invitee = pp.client("outsider")
    assert invitee.post(reverse("api-invitation-decline", kwargs={"invitation_id": first})).status_code == 204
    assert Invitation.objects.get(pk=first).status == "declined"
    second = _invite(pp, "oscar-outsider").json()["invitation"]["id"]
    detail = reverse("api-project-invitation", kwargs={"project_id": pp.project.pk, "invitation_id": second})
    assert pp.client("lead").delete(detail).status_code == 403
    assert pp.client("admin").delete(detail).status_code == 204
    assert Invitation.objects.get(pk=second).status == "revoked"
    assert invitee.post(reverse("api-invitation-accept", kwargs={"invitation_id": second})).status_code == 404
    assert not pp.project.memberships.filter(user=pp.outsider).exists()
    assert pp.client("admin").delete(detail).status_code == 404  # no longer pending


def test_members_can_no_longer_be_added_without_asking(prepare_project):
    answer = prepare_project.client("admin").post(
        reverse("api-members", kwargs={"project_id": prepare_project.project.pk}),
        {"username": "oscar-outsider", "role": "analyst"}, format="json")
    assert answer.status_code == 405
    assert not prepare_project.project.memberships.filter(user=prepare_project.outsider).exists()


def test_pages_invite_and_the_invitee_accepts_on_the_projects_page(prepare_project):
    pp = prepare_project
    admin = Client()
    admin.force_login(pp.admin)
    members_url = reverse("member-list", kwargs={"project_id": pp.project.pk})
    notes = []
    for name in ("oscar-outsider", "nobody-here"):
        page = admin.post(members_url, {"action": "invite", "username": name, "role": "lead"}, follow=True)
        assert page.status_code == 200
        notes.append(page.content.decode().split('class="msg success">')[1].split("<")[0])
    assert notes == ["oscar-outsider: invitation sent if the user exists.",
                     "nobody-here: invitation sent if the user exists."]
    page = admin.post(members_url, {"action": "invite", "username": "not valid!", "role": "lead"})
    assert page.status_code == 200 and b"Enter a valid username" in page.content
    listing = admin.get(members_url).content.decode()
    assert "nobody-here" in listing and "oscar-outsider" in listing

    invitee = Client()
    invitee.force_login(pp.outsider)
    projects = invitee.get(reverse("project-list")).content.decode()
    assert 'id="invitations"' in projects and "Cancellations" in projects
    invitation = Invitation.objects.get(username="oscar-outsider")
    respond = reverse("invitation-respond", kwargs={"invitation_id": invitation.pk})
    assert invitee.get(reverse("project-overview", kwargs={"project_id": pp.project.pk})).status_code == 404
    assert invitee.post(respond, {"action": "maybe"}).status_code == 400
    landed = invitee.post(respond, {"action": "accept"})
    assert landed.status_code == 302 and landed["Location"] == reverse("project-overview",
                                                                      kwargs={"project_id": pp.project.pk})
    assert invitee.get(landed["Location"]).status_code == 200
    assert pp.project.memberships.get(user=pp.outsider).role == "lead"

    # The admin revokes the other one from the members page.
    other = Invitation.objects.get(username="nobody-here")
    assert admin.post(members_url, {"action": "revoke", "invitation_id": other.pk}).status_code == 302
    other.refresh_from_db()
    assert other.status == "revoked"


def test_the_invitation_answer_page_is_the_invitees_only(prepare_project):
    pp = prepare_project
    invitation_id = _invite(pp, "oscar-outsider").json()["invitation"]["id"]
    url = reverse("invitation-respond", kwargs={"invitation_id": invitation_id})
    for who in ("analyst", "lead", "admin"):
        client = Client()
        client.force_login(pp.user(who))
        assert client.post(url, {"action": "accept"}).status_code == 404
    anonymous = Client().post(url, {"action": "accept"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    invitee = Client()
    invitee.force_login(pp.outsider)
    assert invitee.get(url).status_code == 405
    assert invitee.post(url, {"action": "decline"}).status_code == 302
    assert Invitation.objects.get(pk=invitation_id).status == "declined"


def test_signing_in_does_not_tell_unknown_or_inactive_usernames_apart():
    UserFactory(username="known")
    UserFactory(username="asleep", is_active=False)
    tries = {"wrong password": ("known", "wrong"), "unknown": ("nobody-here", PASSWORD),
             "inactive": ("asleep", PASSWORD)}
    tokens = {k: APIClient().post("/api/auth/token/", {"username": u, "password": p}, format="json")
              for k, (u, p) in tries.items()}
    assert {(a.status_code, a.content) for a in tokens.values()} == {(tokens["unknown"].status_code,
                                                                      tokens["unknown"].content)}
    assert tokens["unknown"].status_code == 400
    pages = {k: Client().post("/login/", {"username": u, "password": p}) for k, (u, p) in tries.items()}
    errors = set()
    for page in pages.values():
        assert page.status_code == 200
        errors.add(page.content.decode().split('class="error" role="alert">')[1].split("</p>")[0])
    assert errors == {"Your username and password didn't match. Please try again."}


def test_an_unknown_username_is_locked_out_like_a_known_one(settings):
    UserFactory(username="known")
    answers = {}
    for username in ("known", "nobody-here"):
        client = APIClient()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post("/api/auth/token/", {"username": username, "password": "wrong"}, format="json")
        answers[username] = client.post("/api/auth/token/", {"username": username, "password": "wrong"},
                                        format="json")
    assert {(a.status_code, a.content) for a in answers.values()} == {(429, answers["known"].content)}
