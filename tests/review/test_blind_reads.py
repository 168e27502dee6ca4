"""Blind means blind: an open overlap item has no themes for anyone but its own coder and the leads, on every read
path (filters, exports, insights, quotes, counts, training), until it is resolved; a resolved response shows its
resolved set everywhere, with the coders' sets beside it."""
import csv
import io

import pytest
from django.urls import reverse

from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.projects.models import Response
from labeling_app.review.services.adjudication import disagreement_resolve, overlap_configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def blind(prepare_project):
    """Ten responses about parking, half of them blind overlap items for the two analysts; the first analyst has
    coded the five blind items and two ordinary ones "Price"; the second analyst has coded nothing."""
    pp = prepare_project
    project = pp.project
    project.responses.all().delete()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"P{i}", text=f"the parking was awful {i}",
                                          metadata={"site": "North"}) for i in range(10))
    overlap_configure(project=project, share=0.5, coders=2, participant_ids=[pp.analyst.pk, pp.analyst2.pk])
    overlap = sorted(project.responses.filter(is_overlap=True).values_list("pk", flat=True))
    ordinary = sorted(project.responses.filter(is_overlap=False).values_list("pk", flat=True))
    price = pp.themes[0]
    annotation_submit(project=project, user=pp.analyst,
                      items=[AnnotationItem(r, [price.pk]) for r in overlap + ordinary[:2]])
    return pp, overlap, ordinary[:2]


def _ids(rows):
    return sorted(r["id"] for r in rows)


def _get(pp, role, name, **params):
    response = pp.client(role).get(reverse(name, kwargs={"project_id": pp.project.pk}), params)
    assert response.status_code == 200, response.content
    return response


def _one(pp, role, response_id):
    url = reverse("api-response", kwargs={"project_id": pp.project.pk, "response_id": response_id})
    response = pp.client(role).get(url)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_second_coder_finds_no_blind_item_through_the_theme_filter(blind):
    pp, overlap, ordinary = blind
    price = pp.themes[0].pk
    assert _ids(_get(pp, "analyst2", "api-responses", theme=price).json()["results"]) == ordinary
    # The coder finds their own blind codings; a lead finds every coding; neither is counted as resolved.
    assert _ids(_get(pp, "analyst", "api-responses", theme=price).json()["results"]) == sorted(overlap + ordinary)
    lead_rows = _get(pp, "lead", "api-responses", theme=price).json()["results"]
    assert _ids(lead_rows) == sorted(overlap + ordinary)
    by_id = {r["id"]: r for r in lead_rows}
    assert {by_id[r]["state"] for r in overlap} == {"waiting"}
    assert all(by_id[r]["themes"] == [] and [c["name"] for c in by_id[r]["coders"]] == ["ana-analyst"]
               for r in overlap)


def test_the_responses_list_shows_a_blind_item_to_its_coder_only(blind):
    pp, overlap, ordinary = blind
    rows = {r["id"]: r for r in _get(pp, "analyst2", "api-responses").json()["results"]}
    assert all(rows[r]["state"] == "blind" and rows[r]["themes"] == [] and rows[r]["coders"] == [] for r in overlap)
    assert [t["name"] for t in rows[ordinary[0]]["themes"]] == ["Price"]
    own = _one(pp, "analyst", overlap[0])
    assert own["state"] == "blind" and own["themes"] == []
    assert [[t["name"] for t in c["themes"]] for c in own["coders"]] == [["Price"]]


def test_the_csv_export_leaves_open_blind_items_uncoded(blind):
    pp, _overlap, ordinary = blind
    body = _get(pp, "analyst2", "api-export", format="csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    coded = {r["respondent_id"] for r in rows if r["theme"] == "Price" and r["respondent_id"]}  # not theme-set rows
    assert coded == set(Response.objects.filter(pk__in=ordinary).values_list("respondent_id", flat=True))


def test_insights_count_quote_and_find_terms_only_in_resolved_responses(blind):
    pp, _overlap, ordinary = blind
    price = pp.themes[0].pk
    prevalence = _get(pp, "analyst2", "api-insights-prevalence").json()
    assert {t["theme_id"]: t["count"] for t in prevalence["themes"]}[price] == 2
    found = _get(pp, "analyst2", "api-insights-term-responses", theme=price, term="parking").json()
    assert _ids(found["responses"]) == ordinary
    quotes = _get(pp, "analyst2", "api-insights-quotes", theme=price).json()["themes"][0]["representative"]
    assert set(_ids(quotes)) <= set(ordinary)


def test_the_model_trains_on_a_blind_item_only_once_it_is_resolved(blind):
    pp, overlap, ordinary = blind
    project, price = pp.project, pp.themes[0].pk
    consensus = consensus_for_project(project=project)
    assert set(consensus.resolved) == set(ordinary) and consensus.pending == set(overlap)
    annotation_submit(project=project, user=pp.analyst2, items=[AnnotationItem(r, [price]) for r in overlap])
    consensus = consensus_for_project(project=project)
    assert set(consensus.resolved) == set(overlap + ordinary) and not consensus.pending
    # Agreed by both coders: resolved, so every read shows it to everyone.
    assert _ids(_get(pp, "analyst2", "api-responses", theme=price).json()["results"]) == sorted(overlap + ordinary)
    prevalence = _get(pp, "analyst2", "api-insights-prevalence").json()
    assert {t["theme_id"]: t["count"] for t in prevalence["themes"]}[price] == 7


def test_a_resolved_disagreement_shows_the_leads_themes_with_the_coders_beside_them(blind):
    pp, overlap, _ = blind
    project, (price, delivery) = pp.project, pp.themes
    annotation_submit(project=project, user=pp.analyst2, items=[
        AnnotationItem(overlap[0], [price.pk, delivery.pk]), AnnotationItem(overlap[1], [delivery.pk])])
    disagreement_resolve(project=project, lead=pp.lead, response_id=overlap[0], theme_ids=[delivery.pk])
    disagreement_resolve(project=project, lead=pp.lead, response_id=overlap[1], theme_ids=[],
                         confirm_empty=True)
    for role in ("analyst", "analyst2", "lead"):
        one = _one(pp, role, overlap[0])
        assert (one["state"], [t["name"] for t in one["themes"]]) == ("coded", ["Delivery"])
        assert sorted(tuple(t["name"] for t in c["themes"]) for c in one["coders"]) == [
            ("Price",), ("Price", "Delivery")]
        none = _one(pp, role, overlap[1])
        assert (none["state"], none["themes"], len(none["coders"])) == ("coded", [], 2)
    # The losing theme no longer finds it; "coded, no theme" is coded, not uncoded.
    assert overlap[0] not in _ids(_get(pp, "lead", "api-responses", theme=price.pk).json()["results"])
    uncoded = _ids(_get(pp, "lead", "api-responses", uncoded="true").json()["results"])
    assert overlap[1] not in uncoded and overlap[0] not in uncoded
    assert len(uncoded) == 3  # the three ordinary responses nobody coded


def test_the_responses_page_shows_the_resolved_set_and_the_coders_on_demand(blind, client):
    pp, overlap, _ = blind
    project, (_price, delivery) = pp.project, pp.themes
    annotation_submit(project=project, user=pp.analyst2, items=[AnnotationItem(overlap[0], [delivery.pk])])
    disagreement_resolve(project=project, lead=pp.lead, response_id=overlap[0], theme_ids=[delivery.pk])
    client.force_login(pp.analyst2)
    page = client.get(reverse("response-browser", args=[project.pk]), {"q": overlap_text(overlap[0])}).content.decode()
    row = page[page.index(f'data-response="{overlap[0]}"'):]
    row = row[:row.index("</tr>")]
    themes_cell = row[row.index('class="rthemes"'):row.index("<details")]
    assert "Delivery" in themes_cell and "Price" not in themes_cell
    assert "Each coder’s themes (2)" in row and "Price" in row[row.index("<details"):]
    # A blind item the analyst has not coded shows nothing of the other coder's coding.
    page = client.get(reverse("response-browser", args=[project.pk]), {"q": overlap_text(overlap[2])}).content.decode()
    row = page[page.index(f'data-response="{overlap[2]}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-state="blind"' in row and "Price" not in row and "ana-analyst" not in row


def overlap_text(response_id: int) -> str:
    return Response.objects.get(pk=response_id).respondent_id


def test_a_third_coder_needed_reopens_agreed_items_and_asks_for_a_retrain(blind):
    pp, overlap, ordinary = blind
    project, price = pp.project, pp.themes[0].pk
    annotation_submit(project=project, user=pp.analyst2, items=[AnnotationItem(r, [price]) for r in overlap])
    assert set(consensus_for_project(project=project).resolved) == set(overlap + ordinary)
    project.refresh_from_db()
    revision = project.labels_revision
    overlap_configure(project=project, share=0.5, coders=3)
    project.refresh_from_db()
    assert project.labels_revision > revision
    consensus = consensus_for_project(project=project)
    assert consensus.pending == set(overlap) and set(consensus.resolved) == set(ordinary)
    prevalence = _get(pp, "analyst2", "api-insights-prevalence").json()
    assert {t["theme_id"]: t["count"] for t in prevalence["themes"]}[price] == 2
