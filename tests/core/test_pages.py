"""Every page, for every role and an outsider: outsiders get 404, low roles 403; text is escaped."""
import pytest
from django.test import Client
from django.urls import reverse

from labeling_app.projects.models import Role
from tests.factories import ResponseFactory

PARTIALS = {"embedding-progress", "map-data", "discovery-status", "codeframe-export"}
PAGES = [  # (url name, lowest role)
    ("embedding-progress", Role.ANALYST),
    ("project-overview", Role.ANALYST),
    ("response-browser", Role.ANALYST),
    ("theme-editor", Role.ADMIN),
    ("member-list", Role.ADMIN),
    ("project-settings", Role.ADMIN),
    ("audit", Role.ADMIN),
    ("labeling", Role.ANALYST),
    ("suggestions", Role.ANALYST),
    ("model", Role.ANALYST),
    ("clusters", Role.ANALYST),
    ("map", Role.ANALYST),
    ("map-data", Role.ANALYST),
    ("similar", Role.ANALYST),
    ("discovery-status", Role.ANALYST),
    ("agreement", Role.LEAD),
    ("disagreements", Role.LEAD),
    ("label-checks", Role.LEAD),
    ("insights", Role.ANALYST),
    ("codeframe-export", Role.ANALYST),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name,lowest", PAGES)
@pytest.mark.parametrize("who", ["analyst", "lead", "admin", "outsider"])
def test_page_access(name, lowest, who, prepare_project):
    client = Client()
    client.force_login(prepare_project.user(who))
    response = client.get(reverse(name, kwargs={"project_id": prepare_project.project.pk}))
    if who == "outsider":
        assert response.status_code == 404
        assert b"Cancellations" not in response.content
    elif Role.rank(who) < Role.rank(lowest):
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert b"Cancellations" in response.content or name in PARTIALS


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(prepare_project):
    for name, _ in PAGES:
        response = Client().get(reverse(name, kwargs={"project_id": prepare_project.project.pk}))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_import_endpoints_need_admin(prepare_project):
    client = Client()
    client.force_login(prepare_project.analyst)
    url = reverse("import-upload", kwargs={"project_id": prepare_project.project.pk})
    assert client.post(url, {}).status_code == 403
    client.force_login(prepare_project.outsider)
    assert client.post(url, {}).status_code == 404


@pytest.mark.django_db
def test_response_browser_filters_and_escapes(prepare_project):
    project = prepare_project.project
    ResponseFactory(project=project, respondent_id="S1", text="<script>alert(1)</script> too dear",
                    metadata={"plan": "Basic"})
    ResponseFactory(project=project, respondent_id="S2", text="late box", metadata={"plan": "Family"})
    client = Client()
    client.force_login(prepare_project.analyst)
    url = reverse("response-browser", kwargs={"project_id": project.pk})
    body = client.get(url, {"q": "dear"}).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; too dear" in body
    assert "<script>alert" not in body
    assert "late box" not in body  # not "S2": a random token in the page (CSRF, nonce) may hold those letters
    body = client.get(url, {"meta_plan": "Family"}).content.decode()
    assert "late box" in body and "too dear" not in body


@pytest.mark.django_db
def test_pages_send_a_content_security_policy(prepare_project):
    client = Client()
    client.force_login(prepare_project.analyst)
    response = client.get(reverse("project-list"))
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["analyst", "outsider"])
def test_event_stream_access(who, prepare_project):
    client = Client()
    client.force_login(prepare_project.user(who))
    response = client.get(reverse("project-events", kwargs={"project_id": prepare_project.project.pk}))
    if who == "outsider":
        assert response.status_code == 404
        return
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    stream = iter(response.streaming_content)
    assert next(stream) == b"retry: 1000\n\n"
    first = next(stream).decode()
    assert first.startswith("event: model\n") and '"model": null' in first
    response.close()


def test_every_page_has_an_access_test():
    from django.urls import get_resolver

    names = {p.name for p in get_resolver().url_patterns if getattr(p, "name", None)}
    checked = {n for n, _ in PAGES} | {"project-events", "import-upload", "import-progress", "project-list",
                                       "invitation-respond",  # test_invitation_answers_are_the_invitees_only
                                       "embedding-progress", "cluster", "map-label", "agreement-download",
                                       "insights-charts",  # tests/insights/test_views.py
                                       "report-request", "report-progress",  # tests/exporting/test_views.py
                                       "login", "logout", "home"}
    assert names - checked == set()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["analyst", "outsider"])
def test_cluster_page_and_map_labels_are_members_only(who, prepare_project):
    from tests.scenarios import discovery_run_make

    _, clusters = discovery_run_make(prepare_project.project)
    client = Client()
    client.force_login(prepare_project.user(who))
    page = client.get(reverse("cluster", kwargs={"project_id": prepare_project.project.pk,
                                                 "cluster_id": clusters[0].pk}))
    label = client.post(reverse("map-label", kwargs={"project_id": prepare_project.project.pk}),
                        {"theme": prepare_project.themes[0].pk,
                         "responses": list(prepare_project.project.responses.values_list("pk", flat=True)[:2])},
                        content_type="application/json")
    if who == "outsider":
        assert page.status_code == label.status_code == 404
    else:
        assert page.status_code == 200 and b"c0" in page.content
        assert label.status_code == 200 and label.json() == {"labelled": 2}


@pytest.mark.django_db
def test_admin_changes_settings_and_a_bad_batch_size_is_refused(prepare_project):
    client = Client()
    client.force_login(prepare_project.admin)
    url = reverse("project-settings", kwargs={"project_id": prepare_project.project.pk})
    data = {"name": "Cancellations", "question": "Why did you go?", "labeling_batch_size": 25,
            "active_learning_strategy": "margin"}
    assert client.post(url, data).status_code == 302
    prepare_project.project.refresh_from_db()
    assert (prepare_project.project.labeling_batch_size, prepare_project.project.active_learning_strategy,
            prepare_project.project.question) == (25, "margin", "Why did you go?")
    response = client.post(url, {**data, "labeling_batch_size": 0})
    assert response.status_code == 200 and b"between 1 and 200" in response.content
    prepare_project.project.refresh_from_db()
    assert prepare_project.project.labeling_batch_size == 25


@pytest.mark.django_db
def test_admin_sets_which_way_the_score_runs(prepare_project):
    # NHS FFT scores 1 = very good: the admin unticks "A higher score is better" and insights read drivers so.
    client = Client()
    client.force_login(prepare_project.admin)
    url = reverse("project-settings", kwargs={"project_id": prepare_project.project.pk})
    page = client.get(url).content.decode()
    assert 'name="score_higher_is_better"' in page and "A higher score is better" in page
    assert prepare_project.project.score_higher_is_better is True
    data = {"name": "Cancellations", "question": "Why?", "labeling_batch_size": 10,
            "active_learning_strategy": "margin"}
    assert client.post(url, data).status_code == 302  # the box unticked
    prepare_project.project.refresh_from_db()
    assert prepare_project.project.score_higher_is_better is False
    assert client.post(url, {**data, "score_higher_is_better": "on"}).status_code == 302
    prepare_project.project.refresh_from_db()
    assert prepare_project.project.score_higher_is_better is True


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["analyst", "lead", "admin", "outsider", "anonymous"])
def test_invitation_answers_are_the_invitees_only(who, prepare_project):
    from labeling_app.projects.models import Invitation

    invitation = Invitation.objects.create(project=prepare_project.project, username="oscar-outsider",
                                           invitee=prepare_project.outsider, role=Role.LEAD,
                                           invited_by=prepare_project.admin)
    client = Client()
    if who != "anonymous":
        client.force_login(prepare_project.user(who))
    response = client.post(reverse("invitation-respond", kwargs={"invitation_id": invitation.pk}),
                           {"action": "accept"})
    if who == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    elif who == "outsider":  # the invitee
        assert response.status_code == 302
        assert prepare_project.project.memberships.get(user=prepare_project.outsider).role == Role.LEAD
    else:
        assert response.status_code == 404
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.PENDING


@pytest.mark.django_db
def test_renaming_to_a_name_the_owner_already_uses_is_refused_on_the_page():
    from labeling_app.projects.services.projects import project_create
    from tests.factories import UserFactory

    owner = UserFactory(username="owner")
    project_create(user=owner, name="Churn")
    other = project_create(user=owner, name="Exit survey")
    client = Client()
    client.force_login(owner)
    response = client.post(reverse("project-settings", kwargs={"project_id": other.pk}),
                           {"name": "Churn", "question": "", "labeling_batch_size": 10,
                            "active_learning_strategy": other.active_learning_strategy})
    assert response.status_code == 200 and b"you already have a project named" in response.content
    other.refresh_from_db()
    assert other.name == "Exit survey"
