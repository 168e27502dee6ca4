"""The lead's pages: agreement figures, downloads, deciding disagreements, editing the codebook."""
import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from labeling_app.labeling.models import Adjudication
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(prepare_project):
    pp = prepare_project
    first, second, _ = list(pp.project.responses.order_by("pk"))
    price, delivery = pp.themes
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(first.pk, [price.pk]),
                                                                  AnnotationItem(second.pk, [delivery.pk])])
    annotation_submit(project=pp.project, user=pp.analyst2, items=[AnnotationItem(first.pk, [delivery.pk]),
                                                                   AnnotationItem(second.pk, [delivery.pk])])
    return pp, first


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_agreement_page_lists_themes_lowest_first_with_the_kappa_matrix(disputed):
    pp, _ = disputed
    page = _client(pp.lead).get(reverse("agreement", kwargs={"project_id": pp.project.pk})).content.decode()
    assert 'id="agreement-themes"' in page and 'id="kappa-matrix"' in page
    assert "ana-analyst" in page and "andy-analyst" in page
    assert page.index(f'data-theme="{pp.themes[0].pk}"') < page.index("</table>")
    assert "1 unresolved disagreement" in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_agreement_downloads_for_leads_only(disputed, fmt):
    pp, _ = disputed
    url = reverse("agreement-download", kwargs={"project_id": pp.project.pk, "fmt": fmt})
    assert _client(pp.analyst).get(url).status_code == 403
    assert _client(pp.outsider).get(url).status_code == 404
    response = _client(pp.lead).get(url)
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:2] == ["theme", "alpha"] and {r[0] for r in rows[1:3]} == {"Price", "Delivery"}
        assert ["coder_a", "coder_b", "kappa", "kappa_low", "kappa_high", "ac1", "items"] in rows
    else:
        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["Themes", "Coder pairs", "Overall"]
    assert _client(pp.lead).get(url.replace(f".{fmt}", ".pdf")).status_code == 404


def test_the_lead_resolves_a_disagreement_and_sends_another_back(disputed):
    pp, first = disputed
    url = reverse("disagreements", kwargs={"project_id": pp.project.pk})
    page = _client(pp.lead).get(url).content.decode()
    assert f'data-response="{first.pk}"' in page and page.count('class="card disagreement"') == 1
    price, delivery = pp.themes
    _client(pp.lead).post(url, {"response": first.pk, "theme": [price.pk, delivery.pk], "action": "resolve"})
    assert consensus_for_project(project=pp.project).resolved[first.pk] == {price.pk, delivery.pk}
    assert "No unresolved disagreements" in _client(pp.lead).get(url).content.decode()
    # An analyst can neither see nor decide.
    assert _client(pp.analyst).post(url, {"response": first.pk, "action": "resolve"}).status_code == 403
    assert Adjudication.objects.filter(response=first).count() == 1


def test_leads_sharpen_a_theme_description_from_the_agreement_page(disputed):
    pp, _ = disputed
    theme = pp.themes[0]
    url = reverse("agreement", kwargs={"project_id": pp.project.pk})
    _client(pp.lead).post(url, {"theme": theme.pk, "description": "Cost, fees or the price rise"})
    theme.refresh_from_db()
    assert theme.description == "Cost, fees or the price rise"
    assert _client(pp.analyst).post(url, {"theme": theme.pk, "description": "x"}).status_code == 403


def test_analysts_never_see_another_coders_themes_on_an_open_overlap_item(prepare_project):
    from labeling_app.review.services.adjudication import overlap_configure

    pp = prepare_project
    overlap_configure(project=pp.project, share=1.0, coders=2)
    item = pp.project.responses.order_by("pk").first()
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(item.pk, [pp.themes[0].pk])])
    page_url = reverse("response-browser", kwargs={"project_id": pp.project.pk})
    api_url = f"/api/projects/{pp.project.pk}/responses/{item.pk}/"
    chip = f">{pp.themes[0].name}</span>"
    other = _client(pp.analyst2)
    assert chip not in other.get(page_url).content.decode()
    assert other.get(api_url).json()["themes"] == []
    listed = {r["id"]: r["themes"] for r in other.get(f"/api/projects/{pp.project.pk}/responses/").json()["results"]}
    assert listed[item.pk] == []  # the list endpoint too
    assert chip in _client(pp.analyst).get(page_url).content.decode()  # their own
    assert chip in _client(pp.lead).get(page_url).content.decode()  # leads adjudicate
    annotation_submit(project=pp.project, user=pp.analyst2, items=[AnnotationItem(item.pk, [pp.themes[0].pk])])
    assert other.get(api_url).json()["themes"] == [{"id": pp.themes[0].pk, "name": pp.themes[0].name}]  # agreed


def test_the_card_pre_ticks_agreed_themes_marks_who_chose_what_and_asks_before_no_theme(prepare_project):
    pp = prepare_project
    item = pp.project.responses.order_by("pk").first()
    price, delivery = pp.themes
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(item.pk, [price.pk, delivery.pk])])
    annotation_submit(project=pp.project, user=pp.analyst2, items=[AnnotationItem(item.pk, [price.pk])])
    url = reverse("disagreements", kwargs={"project_id": pp.project.pk})
    lead = _client(pp.lead)
    page = lead.get(url).content.decode()
    assert f'name="theme" value="{price.pk}" checked' in page  # both coders chose it
    assert f'name="theme" value="{delivery.pk}">' in page  # one did: left for the lead
    assert page.index(f'data-theme="{price.pk}"') < page.index(f'data-theme="{delivery.pk}"')  # agreed first
    # "ana-analyst" and "andy-analyst": marks long enough to tell them apart, the full name on each.
    assert page.count('title="chosen by ana-analyst"><span class="sr-only">chosen by </span>Ana<') == 2
    assert page.count('title="chosen by andy-analyst"><span class="sr-only">chosen by </span>And<') == 1

    lead.post(url, {"response": item.pk, "action": "resolve"})  # nothing ticked, not confirmed
    assert not Adjudication.objects.filter(response=item).exists()
    assert "no theme chosen" in lead.get(url).content.decode()
    lead.post(url, {"response": item.pk, "action": "resolve", "no_theme": "1"})
    assert consensus_for_project(project=pp.project).resolved[item.pk] == frozenset()


def test_agreement_page_says_why_a_theme_has_no_alpha_and_prints_intervals_with_minus_signs(prepare_project):
    import re

    from tests.factories import ResponseFactory, ThemeFactory

    pp = prepare_project
    price, delivery = pp.themes
    unused = ThemeFactory(project=pp.project, name="Never used", shortcut="3")
    responses = ResponseFactory.create_batch(10, project=pp.project)
    # Price: the two analysts disagree on most responses (alpha below zero); nobody ever gives "Never used".
    for user, coded in [(pp.analyst, range(0, 5)), (pp.analyst2, range(3, 8))]:
        annotation_submit(project=pp.project, user=user, items=[
            AnnotationItem(r.pk, [price.pk] if i in coded else [delivery.pk]) for i, r in enumerate(responses)])
    page = _client(pp.lead).get(reverse("agreement", kwargs={"project_id": pp.project.pk})).content.decode()

    row = page.split(f'data-theme="{unused.pk}"')[1].split("</tr>")[0]
    assert "not enough variation" in row and "undefined" not in page
    alpha_cell = row.split("data-alpha=")[1].split("</td>")[0]
    assert not re.search(r"\d", alpha_cell.split(">", 1)[1])  # no number where alpha is undefined
    note = page.split('id="no-variation-note"')[1].split("</p>")[0]
    assert "1 of 3 themes: not enough variation to measure" in note and "nobody used the theme" in note
    price_row = page.split(f'data-theme="{price.pk}"')[1].split("</tr>")[0]
    assert "\u2212" in price_row.split("data-alpha=")[1].split("</td>")[0]  # a real minus sign
    intervals = re.findall(r'<td class="small nowrap">([^<]*)</td>', page)
    assert intervals and all(re.fullmatch(r"(\u2212?\d\.\d\d to \u2212?\d\.\d\d)?", i) for i in intervals), intervals
    text = re.sub(r"<[^>]+>", " ", page)  # what a person reads (attributes keep plain values for scripts)
    assert "–-" not in text and "-0." not in text


def test_figures_and_intervals_read_as_numbers_people_write():
    from labeling_app.templatetags.themeloop import figure, interval

    assert interval([-0.2913, -0.0712], 2) == "\u22120.29 to \u22120.07"
    assert interval([None, 0.4], 2) == "" and interval(None, 2) == ""
    assert figure(-0.15, 3) == "\u22120.150" and figure(-0.0001, 3) == "0.000" and figure(float("nan")) == ""
