"""The page endpoints that label in bulk (the map's selection, "more like this") write exactly the response ids
they are sent (what the analyst reviewed and left ticked), and only ids of the project."""
import json

import pytest
from django.test import Client
from django.urls import reverse

from labeling_app.labeling.models import Annotation
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(prepare_project):
    client = Client()
    client.force_login(prepare_project.analyst)
    responses = list(prepare_project.project.responses.order_by("pk"))
    return client, prepare_project, responses


def _labelled(prepared, theme) -> set[int]:
    return set(Annotation.objects.filter(is_current=True, coder=prepared.analyst, themes=theme)
               .values_list("response_id", flat=True))


def test_map_label_writes_exactly_the_ids_sent(analyst):
    client, prepared, responses = analyst
    theme = prepared.themes[0]
    url = reverse("map-label", args=[prepared.project.pk])
    sent = [responses[0].pk, responses[2].pk]  # responses[1] was selected, then unticked in the review
    answer = client.post(url, json.dumps({"theme": theme.pk, "responses": sent}), content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"labelled": 2}
    assert _labelled(prepared, theme) == set(sent)
    assert not responses[1].annotations.exists()


def test_map_label_refuses_an_id_of_another_project_and_writes_nothing(analyst):
    client, prepared, responses = analyst
    foreign = ResponseFactory()
    answer = client.post(reverse("map-label", args=[prepared.project.pk]),
                         json.dumps({"theme": prepared.themes[0].pk, "responses": [responses[0].pk, foreign.pk]}),
                         content_type="application/json")
    assert answer.status_code == 400
    assert "is not in this project" in answer.json()["message"]
    assert not Annotation.objects.exists()


def test_similar_labels_exactly_the_ticked_ids_and_only_this_projects(analyst):
    client, prepared, responses = analyst
    theme = prepared.themes[1]
    url = reverse("similar", args=[prepared.project.pk]) + f"?response={responses[0].pk}"
    answer = client.post(url, {"theme": theme.pk, "response": [responses[1].pk]}, follow=True)
    assert "Labelled 1 responses with “Delivery”." in answer.content.decode()
    assert _labelled(prepared, theme) == {responses[1].pk}
    foreign = ResponseFactory()
    refused = client.post(url, {"theme": theme.pk, "response": [responses[2].pk, foreign.pk]}, follow=True)
    assert "is not in this project" in refused.content.decode()
    assert _labelled(prepared, theme) == {responses[1].pk}
