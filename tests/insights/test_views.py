"""The Insights page's chart endpoint: members only, a valid spec per view, bad filters answer 400."""
import pytest
from django.test import Client
from django.urls import reverse

VIEWS = ["prevalence", "segments", "cooccurrence", "combinations"]


def _url(project, view: str) -> str:
    return reverse("insights-charts", kwargs={"project_id": project.pk, "view": view})


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["analyst", "outsider"])
def test_chart_specs_are_members_only(who, prepare_project):
    client = Client()
    client.force_login(prepare_project.user(who))
    response = client.get(_url(prepare_project.project, "prevalence"))
    if who == "outsider":
        assert response.status_code == 404
    else:
        body = response.json()
        assert response.status_code == 200
        assert body["spec"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert body["source"]["source"] == "human"


@pytest.mark.django_db
@pytest.mark.parametrize("view", VIEWS)
def test_each_view_answers_a_vega_lite_spec(view, prepare_project):
    import jsonschema
    from altair.vegalite.v6.schema import load_schema

    client = Client()
    client.force_login(prepare_project.analyst)
    response = client.get(_url(prepare_project.project, view), {"segment": "", "source": "model"})
    assert response.status_code == 200, response.content
    jsonschema.validate(response.json()["spec"], load_schema())


@pytest.mark.django_db
def test_bad_filters_and_unknown_views(prepare_project):
    client = Client()
    client.force_login(prepare_project.analyst)
    bad = client.get(_url(prepare_project.project, "prevalence"), {"source": "guess"})
    assert bad.status_code == 400 and bad.json()["message"]
    assert client.get(_url(prepare_project.project, "terms"), {"theme": "x"}).status_code == 400
    assert client.get(_url(prepare_project.project, "nope")).status_code == 404
