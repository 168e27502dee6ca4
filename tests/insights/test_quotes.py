"""Quote pins: pin, pin again, unpin; another project's ids are 404."""
import pytest
from django.http import Http404

from labeling_app.insights.models import QuotePin
from labeling_app.insights.selectors.insights import InsightsScope, quotes
from labeling_app.insights.services.quotes import quote_pin, quote_unpin
from tests.factories import ProjectFactory, ResponseFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def test_pin_shows_in_quotes_once_and_unpin_removes_it(prepare_project):
    pp = prepare_project
    theme, response = pp.themes[0], pp.project.responses.first()
    quote_pin(project=pp.project, user=pp.analyst, theme_id=theme.pk, response_id=response.pk)
    quote_pin(project=pp.project, user=pp.analyst, theme_id=theme.pk, response_id=response.pk)
    assert QuotePin.objects.filter(theme=theme).count() == 1
    out = quotes(scope=InsightsScope(project=pp.project), theme_id=theme.pk)
    assert [t["theme_id"] for t in out["themes"]] == [theme.pk]
    assert out["themes"][0]["pinned"] == [{"id": response.pk, "respondent_id": response.respondent_id,
                                           "text": response.text}]
    assert quote_unpin(project=pp.project, user=pp.analyst, theme_id=theme.pk, response_id=response.pk) == 1
    assert quotes(scope=InsightsScope(project=pp.project), theme_id=theme.pk)["themes"][0]["pinned"] == []


def test_ids_of_another_project_are_not_found(prepare_project):
    pp = prepare_project
    other = ProjectFactory()
    foreign_theme = ThemeFactory(project=other)
    foreign_response = ResponseFactory(project=other)
    with pytest.raises(Http404):
        quote_pin(project=pp.project, user=pp.analyst, theme_id=foreign_theme.pk,
                  response_id=pp.project.responses.first().pk)
    with pytest.raises(Http404):
        quote_pin(project=pp.project, user=pp.analyst, theme_id=pp.themes[0].pk, response_id=foreign_response.pk)
    assert not QuotePin.objects.exists()


def test_representative_quotes_come_from_the_themes_responses_embedded_or_not(prepare_project, demo_vectors):
    from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
    from labeling_app.projects.models import Role
    from tests.conftest import demo_project_make
    from tests.factories import UserFactory

    pp = prepare_project
    price = pp.themes[0]
    coded = list(pp.project.responses.order_by("pk"))[:2]
    annotation_submit(project=pp.project, user=pp.analyst, items=[AnnotationItem(r.pk, [price.pk]) for r in coded])
    plain = quotes(scope=InsightsScope(project=pp.project), theme_id=price.pk)["themes"][0]["representative"]
    assert {q["id"] for q in plain} == {r.pk for r in coded}  # not embedded: still quotes, of this theme only
    # Embedded: the ones nearest the theme's centre, each of them carrying the theme.
    demo = demo_project_make({UserFactory(username="q-analyst"): Role.ANALYST}, demo_vectors, keep_labels=200)
    theme = demo.themes.order_by("order").first()
    rep = quotes(scope=InsightsScope(project=demo), theme_id=theme.pk, per_theme=3)["themes"][0]["representative"]
    assert len(rep) == 3
    assert all(demo.responses.get(pk=q["id"]).annotations.filter(is_current=True, themes=theme).exists() for q in rep)
