"""Suggestions follow each theme's own threshold (ModelVersion.thresholds), not a fixed 0.5."""
import pytest

from labeling_app.labeling.models import Annotation, SuggestionRejection
from labeling_app.modeling.selectors.predictions import suggestions_band, theme_thresholds
from tests.factories import ResponseFactory, ThemeFactory
from tests.model_versions import model_version_make

pytestmark = pytest.mark.django_db

# Theme "Low" suggests from 0.2, "High" only from 0.8: 0.5 would be wrong for both.
THRESHOLDS = [0.2, 0.8]
PROBABILITIES = [[0.3, 0.6], [0.1, 0.9], [0.55, 0.75], [0.25, 0.45]]


@pytest.fixture
def scored(prepare_project):
    project = prepare_project.project
    low = ThemeFactory(project=project, name="Low", shortcut="3")
    high = ThemeFactory(project=project, name="High", shortcut="4")
    responses = ResponseFactory.create_batch(4, project=project)
    model_version_make(project=project, theme_ids=[low.pk, high.pk], thresholds=THRESHOLDS,
                       probabilities={r.pk: p for r, p in zip(responses, PROBABILITIES, strict=True)})
    return prepare_project, low, high, responses


def test_queue_and_listed_suggestions_mark_suggested_by_theme_threshold(scored):
    prepared, low, high, responses = scored
    client = prepared.client("analyst")
    ids = ",".join(str(r.pk) for r in responses)
    rows = client.get(f"/api/projects/{prepared.project.pk}/suggestions/",
                      {"responses": ids, "page_size": 100}).json()["results"]
    suggested = {(row["response"], row["theme"]) for row in rows if row["suggested"]}
    assert suggested == {(responses[0].pk, low.pk), (responses[1].pk, high.pk), (responses[2].pk, low.pk),
                         (responses[3].pk, low.pk)}
    assert {row["threshold"] for row in rows} == {0.2, 0.8}
    assert theme_thresholds(project=prepared.project) == {low.pk: 0.2, high.pk: 0.8}


def test_suggestion_band_defaults_to_the_theme_threshold(scored):
    prepared, low, high, responses = scored
    client = prepared.client("analyst")
    url = f"/api/projects/{prepared.project.pk}/suggestions/"

    def band(**params):
        return sorted(row["response"] for row in client.get(url, params).json()["results"])

    assert band(theme=high.pk) == [responses[1].pk]                       # 0.9 only (threshold 0.8)
    assert band(theme=low.pk) == sorted(r.pk for r in (responses[0], responses[2], responses[3]))
    assert band(theme=high.pk, min_probability=0.5) == sorted(r.pk for r in responses[:3])  # an explicit band
    assert band(theme=high.pk, min_probability="") == [responses[1].pk]
    assert client.get(url, {"theme": high.pk, "min_probability": "x"}).status_code == 400


def test_bulk_accept_without_a_band_takes_exactly_what_the_model_suggests(scored):
    prepared, _low, high, responses = scored
    client = prepared.client("analyst")
    url = f"/api/projects/{prepared.project.pk}/suggestions/accept/"
    preview = client.post(url, {"theme": high.pk, "preview": True}, format="json")
    assert preview.status_code == 200, preview.content
    assert preview.json() == {"count": 1, "preview": True, "responses": [responses[1].pk]}
    assert not Annotation.objects.exists()  # a preview writes nothing
    listed = preview.json()["responses"]
    assert client.post(url, {"theme": high.pk, "responses": listed}, format="json").json()["count"] == 1
    labelled = Annotation.objects.filter(coder=prepared.analyst, is_current=True)
    assert {(a.response_id, tuple(a.themes.values_list("pk", flat=True))) for a in labelled} == {
        (responses[1].pk, (high.pk,))}
    # The selector agrees: nothing left in that theme's default band, a 0.5 band still has two.
    assert suggestions_band(project=prepared.project, theme_id=high.pk, min_probability=None,
                            max_probability=1) == []
    assert len(suggestions_band(project=prepared.project, theme_id=high.pk, min_probability=0.5,
                                max_probability=1)) == 2


def test_band_accept_writes_exactly_the_ids_sent(scored):
    """What was reviewed is what is written: an id left out of the band's list stays unlabelled."""
    prepared, low, _high, responses = scored
    client = prepared.client("analyst")
    url = f"/api/projects/{prepared.project.pk}/suggestions/accept/"
    band = client.post(url, {"theme": low.pk, "preview": True}, format="json").json()["responses"]
    assert band == [responses[2].pk, responses[0].pk, responses[3].pk]  # 0.55, 0.3, 0.25: most likely first
    sent = [responses[2].pk, responses[3].pk]  # responses[0] unticked in the review
    done = client.post(url, {"theme": low.pk, "min_probability": 0.2, "responses": sent}, format="json")
    assert done.status_code == 200, done.content
    assert done.json() == {"count": 2, "preview": False}
    labelled = Annotation.objects.filter(is_current=True)
    assert {(a.response_id, a.coder_id, tuple(a.themes.values_list("pk", flat=True))) for a in labelled} == {
        (responses[2].pk, prepared.analyst.pk, (low.pk,)), (responses[3].pk, prepared.analyst.pk, (low.pk,))}
    assert set(labelled.values_list("source", flat=True)) == {Annotation.Source.SUGGESTION}
    # The left-out response is still in the band, unlabelled.
    assert [r["response"] for r in suggestions_band(project=prepared.project, theme_id=low.pk,
                                                    min_probability=None, max_probability=1)] == [responses[0].pk]


def test_band_accept_or_reject_needs_the_reviewed_ids_and_only_this_projects(scored):
    prepared, low, _high, responses = scored
    client = prepared.client("analyst")
    base = f"/api/projects/{prepared.project.pk}/suggestions/"
    foreign = ResponseFactory()
    for kind in ("accept", "reject"):
        # No list: the band is not re-read at write time, so nothing is written.
        for body in ({"theme": low.pk}, {"theme": low.pk, "min_probability": 0.2}, {"theme": low.pk, "responses": []}):
            refused = client.post(base + kind + "/", body, format="json")
            assert refused.status_code == 400, refused.content
            assert "responses" in refused.json()["details"]
        mixed = client.post(base + kind + "/", {"theme": low.pk, "responses": [responses[0].pk, foreign.pk]},
                            format="json")
        assert mixed.status_code == 400
        assert mixed.json()["message"] == "1 of the responses are not in this project"
    assert not Annotation.objects.exists() and not SuggestionRejection.objects.exists()


def test_band_reject_hides_exactly_the_ids_sent(scored):
    prepared, low, _high, responses = scored
    client = prepared.client("analyst")
    url = f"/api/projects/{prepared.project.pk}/suggestions/reject/"
    assert client.post(url, {"theme": low.pk, "responses": [responses[0].pk]}, format="json").json() == {
        "count": 1, "preview": False}
    assert client.post(url, {"theme": low.pk, "preview": True}, format="json").json()["responses"] == [
        responses[2].pk, responses[3].pk]
    assert not Annotation.objects.exists()


def test_queue_reopens_one_response_with_your_current_labels(scored):
    prepared, low, high, responses = scored
    client = prepared.client("analyst")
    base = f"/api/projects/{prepared.project.pk}/"
    saved = client.post(base + "annotations/", [{"response": responses[2].pk, "themes": [high.pk, low.pk],
                                                 "flagged": True}], format="json")
    assert saved.status_code == 201, saved.content
    [item] = client.get(base + "queue/", {"response": responses[2].pk}).json()
    assert item["id"] == responses[2].pk
    assert item["themes"] == [low.pk, high.pk]  # theme order
    assert item["flagged"] is True
    assert [s["theme"] for s in item["suggestions"] if s["suggested"]] == [low.pk]
    # Another analyst sees the response without anyone else's labels.
    [other] = prepared.client("analyst2").get(base + "queue/", {"response": responses[2].pk}).json()
    assert other["themes"] == [] and other["flagged"] is False
    # A response of another project is not found, whoever asks.
    foreign = ResponseFactory()
    assert client.get(base + "queue/", {"response": foreign.pk}).status_code == 404
    assert client.get(base + "queue/", {"response": "abc"}).status_code == 400  # not an id: a bad request
