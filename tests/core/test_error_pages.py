"""403 and 404 in the site's layout for pages, the JSON error shape under /api/, and a readable schema."""
import pytest
from django.test import Client
from django.urls import reverse

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def _client(user=None):
    client = Client(HTTP_ACCEPT=BROWSER_ACCEPT)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_low_role_gets_the_403_page_in_the_layout(prepare_project):
    page = _client(prepare_project.analyst).get(reverse("theme-editor", args=[prepare_project.project.pk]))
    assert page.status_code == 403
    assert [t.name for t in page.templates][:2] == ["403.html", "labeling_app/core/base.html"]
    text = page.content.decode()
    assert 'class="topbar"' in text and "You can’t open this page" in text and "ana-analyst" in text


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/no-such-page/<b>x</b>", "project-of-someone-else"])
def test_a_missing_page_gets_the_404_page_in_the_layout(prepare_project, path):
    if path == "project-of-someone-else":
        path = reverse("project-overview", args=[prepare_project.project.pk])
    page = _client(prepare_project.outsider).get(path)
    assert page.status_code == 404
    text = page.content.decode()
    assert 'class="topbar"' in text and "Page not found" in text
    assert "<b>x</b>" not in text  # the path is shown escaped
    assert "Cancellations" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("method,path,status", [("get", "/api/no-such-endpoint/", 404),
                                                ("get", "/api/projects/{pk}/themes/999999/", 404),
                                                ("post", "/api/projects/{pk}/themes/", 403)])
def test_api_errors_keep_the_json_shape(prepare_project, method, path, status):
    client = prepare_project.client("analyst")
    answer = getattr(client, method)(path.format(pk=prepare_project.project.pk), {"name": "x"}, format="json")
    assert answer.status_code == status
    assert answer["Content-Type"].startswith("application/json")
    assert set(answer.json()) == {"message", "details"}


@pytest.mark.django_db
def test_the_schema_is_a_page_for_browsers_and_yaml_for_tools():
    page = _client().get("/api/schema/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert 'class="topbar"' in text and 'href="/api/docs/"' in text
    assert "openapi: 3" in text and "/api/projects/{project_id}/themes/" in text
    tool = Client().get("/api/schema/")
    assert tool["Content-Type"].startswith("application/vnd.oai.openapi")
    assert tool.content.startswith(b"openapi: 3")
    assert Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["openapi"].startswith("3")
    assert _client().get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_an_unexpected_api_failure_answers_500_in_the_json_shape(prepare_project, monkeypatch):
    # A bug anywhere below an API view (here the prevalence selector fails): the client still reads JSON with a
    # message, never Django's HTML error page; a page keeps the plain 500 page.
    from labeling_app.insights.selectors import insights as sel

    def broken(**kwargs):
        raise RuntimeError("a bug in the selector")

    monkeypatch.setattr(sel, "prevalence", broken)
    client = prepare_project.client("analyst")
    client.raise_request_exception = False
    answer = client.get(f"/api/projects/{prepare_project.project.pk}/insights/prevalence/")
    assert answer.status_code == 500
    assert answer["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"message", "details"} and "bug" not in body["message"]
