"""Pages and their POST handlers answer bad parameters with 400 (in the site's layout), never 500."""
import json

import pytest
from django.test import Client
from django.urls import reverse

from labeling_app.labeling.models import Annotation
from tests.scenarios import project_url_ids

BEYOND_64_BITS = "99999999999999999999999"


@pytest.fixture
def pages(prepare_project):
    """A signed-in admin's client, the fixture project's ids, and a function giving a page's URL."""
    ids = project_url_ids(prepare_project)
    client = Client()
    client.force_login(prepare_project.admin)
    project_id = prepare_project.project.pk

    def url(name, *args):
        return reverse(name, args=[project_id, *args])

    return client, url, ids


def _is_400_page(response):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert "400.html" in [t.name for t in response.templates]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["²", "abc", BEYOND_64_BITS, "1" * 5000])
@pytest.mark.parametrize("name,param", [
    ("response-browser", "theme"),
    ("labeling", "response"),
    ("clusters", "run"),
    ("similar", "k"),
    ("similar", "response"),
    ("disagreements", "theme"),
])
def test_bad_numbers_in_page_parameters_are_a_400(pages, name, param, value):
    client, url, _ = pages
    _is_400_page(client.get(url(name), {param: value}))


@pytest.mark.django_db
@pytest.mark.parametrize("form", [
    {"action": "split", "cluster_id": "abc"},
    {"action": "split"},  # no cluster_id at all
    {"action": "rename", "cluster_id": "²", "name": "x"},
    {"action": "dismiss", "cluster_id": BEYOND_64_BITS},
    {"action": "merge", "cluster": ["1", "abc"]},
    {"action": "start", "n_clusters": "²"},
])
def test_cluster_actions_with_bad_or_missing_ids_are_a_400(pages, form):
    client, url, _ = pages
    _is_400_page(client.post(url("clusters"), form))


@pytest.mark.django_db
@pytest.mark.parametrize("form", [
    {"action": "move", "response": ["abc"], "to": "1"},
    {"action": "make_theme", "response": ["²"], "name": "x"},
])
def test_cluster_member_actions_with_bad_ids_are_a_400(pages, form):
    client, url, ids = pages
    _is_400_page(client.post(url("cluster", ids["cluster_id"]), form))


@pytest.mark.django_db
@pytest.mark.parametrize("name,form", [
    ("theme-editor", {"action": "merge", "source": "abc", "target": "1"}),
    ("theme-editor", {"action": "archive", "theme_id": "²"}),
    ("theme-editor", {"action": "copy", "from_project": "abc"}),
    ("member-list", {"action": "remove", "member_id": "abc"}),
    ("member-list", {"action": "revoke", "invitation_id": "²"}),
    ("agreement", {"theme": "²", "description": "x"}),
    ("disagreements", {"response": "²", "action": "send_back"}),
    ("disagreements", {"response": "1", "theme": ["abc"]}),
    ("similar", {"theme": "abc", "response": ["1"]}),
])
def test_page_posts_with_non_numeric_ids_are_a_400(pages, name, form):
    client, url, _ = pages
    _is_400_page(client.post(url(name), form))


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    "{not json",
    "[" * 100_000 + "]" * 100_000,
    json.dumps([1, 2]),
    json.dumps({"responses": [1]}),  # no theme
    json.dumps({"theme": "abc", "responses": [1]}),
    json.dumps({"theme": 1, "responses": ["abc"]}),
    json.dumps({"theme": 1, "responses": "1,2"}),
    json.dumps({"theme": 1, "responses": [int(BEYOND_64_BITS)]}),
])
def test_map_label_with_broken_json_or_bad_ids_is_a_400(pages, body):
    client, url, _ = pages
    before = Annotation.objects.count()
    response = client.post(url("map-label"), body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["message"]
    assert Annotation.objects.count() == before


@pytest.mark.django_db
def test_map_label_still_labels(pages, prepare_project):
    client, url, ids = pages
    response = client.post(url("map-label"), json.dumps({"theme": ids["theme_id"], "responses": [ids["response_id"]]}),
                           content_type="application/json")
    assert response.status_code == 200 and response.json() == {"labelled": 1}


@pytest.mark.django_db
@pytest.mark.parametrize("path", [f"/projects/{BEYOND_64_BITS}/", f"/projects/1/clusters/{'9' * 5000}/"])
def test_ids_beyond_64_bits_in_page_paths_are_a_404(pages, path):
    client, _, _ = pages
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_an_outsider_still_gets_404_before_parameters_are_read(prepare_project):
    client = Client()
    client.force_login(prepare_project.outsider)
    page = reverse("labeling", args=[prepare_project.project.pk])
    assert client.get(page, {"response": "abc"}).status_code == 404
