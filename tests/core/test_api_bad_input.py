"""Bad input answers 4xx in the API's error shape, never 500: one test per class of input that used to break."""
import pytest

from labeling_app.themes.models import Theme
from tests.scenarios import project_url_ids

MAX_ID = 2**63 - 1  # the largest id a 64-bit column holds
BEYOND_64_BITS = "99999999999999999999999"
OVER_INT_LIMIT = "1" * 5000  # past Python's 4,300-digit int() limit
NON_ASCII_DIGITS = ["²", "١٢", "𝟙"]  # str.isdigit() says yes, int() says no (or reads them differently)


@pytest.fixture
def api(prepare_project):
    """The admin's client, the project's API root and the ids of real rows in it."""
    ids = project_url_ids(prepare_project)
    return prepare_project.client("admin"), f"/api/projects/{prepare_project.project.pk}/", ids


def _is_400(response):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"message", "details"} and body["message"]
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("digits", NON_ASCII_DIGITS)
@pytest.mark.parametrize("path,param", [
    ("responses/", "theme"),
    ("queue/", "size"),
    ("queue/", "response"),
    ("responses/{response_id}/similar/", "k"),
    ("suggestions/", "theme"),
    ("disagreements/", "theme"),
    ("insights/quotes/", "theme"),
    ("clusters/", "run"),
])
def test_non_ascii_digits_in_a_parameter_are_a_400(api, path, param, digits):
    client, root, ids = api
    body = _is_400(client.get(root + path.format(**ids), {param: digits}))
    assert param in body["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [BEYOND_64_BITS, str(MAX_ID + 1), OVER_INT_LIMIT, "-1", "0", "abc", "1e3", "1.5"])
@pytest.mark.parametrize("path,param", [
    ("responses/", "theme"),
    ("queue/", "size"),
    ("queue/", "response"),
    ("suggestions/", "theme"),
    ("suggestions/", "responses"),
    ("clusters/", "run"),
    ("insights/terms/", "theme"),
])
def test_ids_and_sizes_out_of_range_in_parameters_are_a_400(api, path, param, value):
    client, root, _ = api
    _is_400(client.get(root + path, {param: value}))


@pytest.mark.django_db
@pytest.mark.parametrize("number", [BEYOND_64_BITS, str(MAX_ID + 1), OVER_INT_LIMIT])
@pytest.mark.parametrize("template", [
    "/api/projects/{n}/",
    "/api/projects/{n}/themes/",
    "{root}themes/{n}/",
    "{root}responses/{n}/",
    "{root}responses/{n}/similar/",
    "{root}clusters/{n}/responses/",
    "{root}disagreements/{n}/resolve/",
])
def test_ids_beyond_64_bits_in_paths_are_a_404(api, template, number):
    client, root, _ = api
    response = client.get(template.format(root=root, n=number))
    assert response.status_code == 404, response.content[:300]
    assert response.json() == {"message": "Not found.", "details": None}


@pytest.mark.django_db
def test_the_largest_id_is_a_plain_404(api):
    client, root, _ = api
    assert client.get(f"{root}themes/{MAX_ID}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("lookup", ["contains", "isnull", "contained_by", "has_key", "icontains", "plan__contains"])
def test_meta_keys_are_plain_keys_never_database_lookups(api, prepare_project, lookup):
    client, root, _ = api
    literal = prepare_project.project.responses.first()
    literal.metadata = {**literal.metadata, lookup: "x"}
    literal.save(update_fields=["metadata"])
    response = client.get(root + "responses/", {"meta": f"{lookup}:x"})
    assert response.status_code == 200, response.content[:300]
    # Only the response that has a metadata column named so matches: the key was not read as a lookup.
    assert [r["id"] for r in response.json()["results"]] == [literal.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("meta", ["no-colon", ":value", "   :x", f"{'k' * 201}:x"])
def test_malformed_meta_filters_are_a_400(api, meta):
    client, root, _ = api
    _is_400(client.get(root + "responses/", {"meta": meta}))


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["nan", "inf", "-0.5", "2", "abc"])
def test_probabilities_outside_0_1_are_a_400(api, value):
    client, root, ids = api
    _is_400(client.get(root + "suggestions/", {"theme": ids["theme_id"], "min_probability": value}))


DEEP = "[" * 100_000 + "]" * 100_000
NESTED_50 = '{"a":' * 50 + "1" + "}" * 50


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["annotations/", "clusters/merge/", "insights/quotes/pin/", "themes/"])
@pytest.mark.parametrize("document", [DEEP, NESTED_50], ids=["100k-deep", "50-deep"])
def test_deeply_nested_json_bodies_are_a_400(api, path, document):
    client, root, _ = api
    _is_400(client.generic("POST", root + path, document, content_type="application/json"))


@pytest.mark.django_db
def test_deeply_nested_json_to_the_token_endpoint_is_a_400(client):
    response = client.post("/api/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    {"response": int(BEYOND_64_BITS), "themes": []},
    {"response": 1, "themes": [int(BEYOND_64_BITS)]},
    {"response": "²", "themes": []},
    {"response": 0, "themes": []},
])
def test_ids_out_of_range_in_bodies_are_a_400(api, body):
    client, root, _ = api
    _is_400(client.post(root + "annotations/", body, format="json"))


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "patch"])
def test_theme_names_longer_than_the_column_are_a_400(api, method):
    client, root, ids = api
    url = root + "themes/" + (f"{ids['theme_id']}/" if method == "patch" else "")
    body = _is_400(getattr(client, method)(url, {"name": "x" * 121}, format="json"))
    assert "name" in body["details"]
    assert not any(len(t.name) > 120 for t in Theme.objects.all())


@pytest.mark.django_db
def test_a_run_that_is_not_a_number_is_a_400(api):
    client, root, _ = api
    body = _is_400(client.get(root + "clusters/", {"run": "abc"}))
    assert "run" in body["details"]
    _is_400(client.post(root + "clusters/undo/", {"run": "abc"}, format="json"))


@pytest.mark.django_db
def test_a_json_number_over_4300_digits_is_a_400(api):
    client, root, _ = api
    document = '{"response": ' + OVER_INT_LIMIT + ', "themes": []}'
    _is_400(client.generic("POST", root + "annotations/", document, content_type="application/json"))
