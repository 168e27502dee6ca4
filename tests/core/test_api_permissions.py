"""Every API endpoint, for every role and for an outsider: outsiders get 404, low roles 403, never data."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from labeling_app.projects.models import Role
from tests.scenarios import project_url_ids

ROLES = [Role.ANALYST, Role.LEAD, Role.ADMIN]
PUBLIC = {"api-token", "api-schema", "api-docs"}  # checked separately below








# (url name, url kwargs, method, body, lowest role allowed)
CASES = [
    ("api-projects", [], "get", None, None),
    ("api-project", ["project_id"], "get", None, Role.ANALYST),
    ("api-project", ["project_id"], "patch", {"question": "New?"}, Role.ADMIN),
    ("api-themes", ["project_id"], "get", None, Role.ANALYST),
    ("api-export", ["project_id"], "get", None, Role.ANALYST),
    ("api-codeframe", ["project_id"], "get", {"format": "csv"}, Role.ANALYST),
    ("api-codeframe-import", ["project_id"], "post", "codeframe", Role.ADMIN),
    ("api-export", ["project_id"], "get", {"format": "sav"}, Role.ANALYST),
    ("api-export", ["project_id"], "get", {"format": "triple-s"}, Role.ANALYST),
    ("api-report-exports", ["project_id"], "get", None, Role.ANALYST),
    ("api-report-exports", ["project_id"], "post", {"source": "human"}, Role.ANALYST),
    ("api-report-export", ["project_id", "report_id"], "get", None, Role.ANALYST),
    ("api-report-export-file", ["project_id", "report_id"], "get", None, Role.ANALYST),
    ("api-audit", ["project_id"], "get", None, Role.ADMIN),
    ("api-themes", ["project_id"], "post", {"name": "Brand new"}, Role.ADMIN),
    ("api-theme", ["project_id", "theme_id"], "get", None, Role.ANALYST),
    ("api-theme", ["project_id", "theme_id"], "patch", {"description": "d"}, Role.ADMIN),
    ("api-responses", ["project_id"], "get", None, Role.ANALYST),
    ("api-response", ["project_id", "response_id"], "get", None, Role.ANALYST),
    ("api-imports", ["project_id"], "get", None, Role.ANALYST),
    ("api-imports", ["project_id"], "post", "upload", Role.ADMIN),
    ("api-import", ["project_id", "import_id"], "get", None, Role.ANALYST),
    ("api-members", ["project_id"], "get", None, Role.ANALYST),
    ("api-project-invitations", ["project_id"], "get", None, Role.ADMIN),
    ("api-project-invitations", ["project_id"], "post", {"username": "newcomer", "role": "analyst"}, Role.ADMIN),
    ("api-project-invitation", ["project_id", "invitation_id"], "get", None, Role.ADMIN),
    ("api-project-invitation", ["project_id", "invitation_id"], "delete", None, Role.ADMIN),
    ("api-member", ["project_id", "member_id"], "get", None, Role.ANALYST),
    ("api-member", ["project_id", "member_id"], "patch", {"role": "lead"}, Role.ADMIN),
    ("api-member", ["project_id", "member_id"], "delete", None, Role.ADMIN),
    ("api-queue", ["project_id"], "get", None, Role.ANALYST),
    ("api-annotations", ["project_id"], "post",
     lambda ids: [{"response": ids["response_id"], "themes": [ids["theme_id"]]}], Role.ANALYST),
    ("api-model", ["project_id"], "get", None, Role.ANALYST),
    ("api-suggestions", ["project_id"], "get", None, Role.ANALYST),
    ("api-suggestions-accept", ["project_id"], "post",
     lambda ids: {"theme": ids["theme_id"], "min_probability": 0.5, "preview": True}, Role.ANALYST),
    ("api-suggestions-reject", ["project_id"], "post",
     lambda ids: {"theme": ids["theme_id"], "min_probability": 0.5, "preview": True}, Role.ANALYST),
    ("api-discovery-runs", ["project_id"], "get", None, Role.ANALYST),
    ("api-discovery-runs", ["project_id"], "post", {"n_clusters": 3}, Role.ANALYST),
    ("api-discovery-run", ["project_id", "run_id"], "get", None, Role.ANALYST),
    ("api-clusters", ["project_id"], "get", None, Role.ANALYST),
    ("api-cluster", ["project_id", "cluster_id"], "get", None, Role.ANALYST),
    ("api-cluster", ["project_id", "cluster_id"], "patch", {"name": "Renamed"}, Role.ANALYST),
    ("api-cluster-responses", ["project_id", "cluster_id"], "get", None, Role.ANALYST),
    ("api-clusters-merge", ["project_id"], "post", lambda ids: {"clusters": ids["cluster_ids"]}, Role.ANALYST),
    ("api-cluster-split", ["project_id", "cluster_id"], "post", {"k": 2}, Role.ANALYST),
    ("api-cluster-make-theme", ["project_id", "cluster_id"], "post",
     lambda ids: {"name": "From cluster", "responses": [ids["response_id"]]}, Role.ANALYST),
    ("api-clusters-move", ["project_id"], "post",
     lambda ids: {"responses": [ids["response_id"]], "to": ids["cluster_ids"][1]}, Role.ANALYST),
    ("api-clusters-undo", ["project_id"], "post", None, Role.ANALYST),
    ("api-response-similar", ["project_id", "response_id"], "get", None, Role.ANALYST),
    ("api-agreement", ["project_id"], "get", None, Role.LEAD),
    ("api-disagreements", ["project_id"], "get", None, Role.LEAD),
    ("api-label-checks", ["project_id"], "get", None, Role.LEAD),
    ("api-autocode", ["project_id"], "get", None, Role.LEAD),
    ("api-autocode-check", ["project_id"], "get", None, Role.LEAD),
    ("api-disagreement-resolve", ["project_id", "response_id"], "post",
     lambda ids: {"themes": [ids["theme_id"]], "comment": "Price it is"}, Role.LEAD),
    ("api-insights-prevalence", ["project_id"], "get", {"segment": "score"}, Role.ANALYST),
    ("api-insights-terms", ["project_id"], "get", lambda ids: {"theme": ids["theme_id"]}, Role.ANALYST),
    ("api-insights-term-responses", ["project_id"], "get", {"term": "price"}, Role.ANALYST),
    ("api-insights-drivers", ["project_id"], "get", {"score": "score"}, Role.ANALYST),
    ("api-insights-cooccurrence", ["project_id"], "get", None, Role.ANALYST),
    ("api-insights-sentiment", ["project_id"], "get", None, Role.ANALYST),
    ("api-insights-waves", ["project_id"], "get", None, Role.ANALYST),
    ("api-insights-trends", ["project_id"], "get", {"date_field": "day"}, Role.ANALYST),
    ("api-insights-quotes", ["project_id"], "get", None, Role.ANALYST),
    ("api-insights-chart", ["project_id", "view", "fmt"], "get", None, Role.ANALYST),
    ("api-insights-quote-pin", ["project_id"], "post",
     lambda ids: {"theme": ids["theme_id"], "response": ids["response_id"]}, Role.ANALYST),
    ("api-insights-quote-unpin", ["project_id"], "post",
     lambda ids: {"theme": ids["theme_id"], "response": ids["response_id"]}, Role.ANALYST),
]


def _call(client, name, kwargs, method, body, ids):
    url = reverse(name, kwargs={k: ids[k] for k in kwargs})
    if callable(body):
        body = body(ids)
    if body == "codeframe":
        upload = SimpleUploadedFile("frame.csv", b"code,net,name\n90,Money,Deposits\n")
        return client.post(url, {"file": upload}, format="multipart")
    if body == "upload":
        upload = SimpleUploadedFile("ok.csv", b"respondent_id,response\nZ1,hello\n")
        return client.post(url, {"file": upload}, format="multipart")
    return getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]} {c[0]}" for c in CASES])
@pytest.mark.parametrize("who", [*ROLES, "outsider", "anonymous"])
def test_endpoint_access(case, who, prepare_project, django_capture_on_commit_callbacks):
    name, kwargs, method, body, lowest = case
    ids = project_url_ids(prepare_project)
    client = APIClient() if who == "anonymous" else prepare_project.client(
        who if who == "outsider" else {"analyst": "analyst", "lead": "lead", "admin": "admin"}[who])
    response = _call(client, name, kwargs, method, body, ids)
    # A file (the printed report) is streamed.
    text = (b"".join(response.streaming_content) if response.streaming else response.content).decode(errors="replace")
    if who == "anonymous":
        assert response.status_code in (401, 403)
        assert "Cancellations" not in text
    elif lowest is None:  # the project list: only your own projects
        assert response.status_code == 200
        names = [p["name"] for p in response.json()["results"]]
        assert names == (["Other project"] if who == "outsider" else ["Cancellations"])
    elif who == "outsider":
        assert response.status_code == 404, text
        assert "Cancellations" not in text and "Price" not in text
    elif Role.rank(who) < Role.rank(lowest):
        assert response.status_code == 403, text
        assert set(response.json()) == {"message", "details"}
    else:
        assert response.status_code in (200, 201, 202, 204), text


# Not project-scoped: a user's own invitations. Only the invitee (the fixture's outsider) may answer; for anyone
# else the invitation does not exist (404), and the list holds only their own.
INVITEE_CASES = [
    ("api-invitations", "get"),
    ("api-invitation-accept", "post"),
    ("api-invitation-decline", "post"),
]


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("case", INVITEE_CASES, ids=[f"{c[1]} {c[0]}" for c in INVITEE_CASES])
@pytest.mark.parametrize("who", [*ROLES, "outsider", "anonymous"])
def test_invitee_endpoint_access(case, who, prepare_project):
    name, method = case
    ids = project_url_ids(prepare_project)
    client = APIClient() if who == "anonymous" else prepare_project.client(
        who if who == "outsider" else {"analyst": "analyst", "lead": "lead", "admin": "admin"}[who])
    url = reverse(name) if name == "api-invitations" else reverse(name, kwargs={"invitation_id": ids["invitation_id"]})
    response = getattr(client, method)(url)
    if who == "anonymous":
        assert response.status_code in (401, 403)
        assert b"Cancellations" not in response.content
    elif name == "api-invitations":
        assert response.status_code == 200
        assert [i["id"] for i in response.json()["results"]] == ([ids["invitation_id"]] if who == "outsider" else [])
    elif who == "outsider":
        assert response.status_code in (200, 204), response.content
    else:
        assert response.status_code == 404, response.content


def _api_route_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_route_names(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and (prefix + str(entry.pattern)).startswith("api/"):
            yield entry.name


def test_every_api_endpoint_has_a_permission_case():
    covered = {c[0] for c in CASES} | {c[0] for c in INVITEE_CASES} | PUBLIC
    missing = sorted(set(_api_route_names()) - covered)
    assert not missing, f"API endpoints without a permission test: {missing}"


@pytest.mark.django_db
def test_public_endpoints(prepare_project):
    client = APIClient()
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200
    for name in ("/api/projects/", "/api/projects/{project_id}/themes/", "/api/projects/{project_id}/imports/",
                 "/api/projects/{project_id}/queue/", "/api/projects/{project_id}/annotations/",
                 "/api/projects/{project_id}/model/", "/api/projects/{project_id}/suggestions/"):
        assert name in schema.content.decode()
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()
    token = client.post(reverse("api-token"), {"username": "ana-analyst", "password": "pw-for-tests-1"})
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert [p["name"] for p in client.get("/api/projects/").json()["results"]] == ["Cancellations"]
    bad = APIClient().post(reverse("api-token"), {"username": "ana-analyst", "password": "wrong"})
    assert bad.status_code == 400
