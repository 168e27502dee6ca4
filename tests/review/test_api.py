"""The lead's review over the API: deciding a disagreement, and what its coders get back."""
from datetime import datetime

import pytest

from labeling_app.labeling.models import Adjudication
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.review.services.adjudication import overlap_configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(prepare_project):
    """Blind double coding: the two analysts agree on Price for the first response and differ on Delivery."""
    pp = prepare_project
    overlap_configure(project=pp.project, share=1.0, coders=2)
    first = pp.project.responses.order_by("pk").first()
    price, delivery = pp.themes
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(first.pk, [price.pk, delivery.pk])])
    annotation_submit(project=pp.project, user=pp.analyst2, items=[AnnotationItem(first.pk, [price.pk])])
    return pp, first, f"/api/projects/{pp.project.pk}/disagreements/{first.pk}/resolve/"


def test_the_disagreement_list_says_which_themes_every_coder_chose(disputed):
    pp, first, _ = disputed
    rows = pp.client("lead").get(f"/api/projects/{pp.project.pk}/disagreements/").json()["results"]
    assert [(r["response"], r["agreed"]) for r in rows] == [(first.pk, [pp.themes[0].pk])]


def test_an_empty_resolve_is_refused_unless_no_theme_is_said(disputed):
    pp, first, url = disputed
    lead = pp.client("lead")
    for body in ({"themes": []}, {"themes": [], "comment": "none of these"}):
        refused = lead.post(url, body, format="json")
        assert refused.status_code == 400, refused.content
        error = refused.json()
        assert set(error) == {"message", "details"}  # the API's one error shape
        assert error["message"].startswith("themes: no theme chosen")
        assert "themes" in error["details"]
    contradictory = lead.post(url, {"themes": [pp.themes[0].pk], "no_theme": True}, format="json")
    assert contradictory.status_code == 400 and contradictory.json()["message"].startswith("no_theme:")
    assert not Adjudication.objects.filter(response=first).exists()
    assert first.pk in consensus_for_project(project=pp.project).disagreements

    resolved = lead.post(url, {"no_theme": True, "comment": "off topic"}, format="json")
    assert resolved.status_code == 201, resolved.content
    assert resolved.json() == {"response": first.pk, "kind": "resolve", "themes": [], "comment": "off topic"}
    assert consensus_for_project(project=pp.project).resolved[first.pk] == frozenset()



def test_the_queue_carries_the_leads_send_back_comment_to_the_coders(disputed):
    pp, first, url = disputed
    queue = f"/api/projects/{pp.project.pk}/queue/?size=10"
    assert all(item["review_note"] is None for item in pp.client("analyst").get(queue).json())
    sent = pp.client("lead").post(url, {"send_back": True, "comment": "Delivery: only late or missing boxes"},
                                  format="json")
    assert sent.status_code == 201, sent.content

    for who in ("analyst", "analyst2"):
        items = {item["id"]: item for item in pp.client(who).get(queue).json()}
        note = items[first.pk]["review_note"]
        # Who and when and the lead's words: nothing of either coder's themes (the item is coded again blind).
        assert set(note) == {"comment", "by", "at"}
        assert note["comment"] == "Delivery: only late or missing boxes" and note["by"] == pp.lead.username
        assert datetime.fromisoformat(note["at"].replace("Z", "+00:00")).tzinfo is not None
        assert items[first.pk]["blind"] and items[first.pk]["themes"] == []
        assert all(item["review_note"] is None for pk, item in items.items() if pk != first.pk)

    # Re-opened on its own, too, while the coder has still to code it again; not once they have.
    reopen = f"/api/projects/{pp.project.pk}/queue/?response={first.pk}"
    assert pp.client("analyst").get(reopen).json()[0]["review_note"]["by"] == pp.lead.username
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(first.pk, [pp.themes[0].pk])])
    assert pp.client("analyst").get(reopen).json()[0]["review_note"] is None
    assert pp.client("analyst2").get(reopen).json()[0]["review_note"] is not None
