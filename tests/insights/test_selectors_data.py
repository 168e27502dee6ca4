"""The cached tables behind the insights views: never stale after a change, and built once per state."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling_app.insights.selectors.insights import InsightsScope, metadata_columns, prevalence, term_responses
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from tests.factories import ProjectFactory, ResponseFactory, ThemeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coded():
    project = ProjectFactory()
    user = UserFactory()
    price, support = ThemeFactory(project=project, name="Price"), ThemeFactory(project=project, name="Support")
    texts = ["Too expensive for what it is", "The price went up again", "Support never answered my emails",
             "Nobody from support called back", "Cheaper elsewhere, price matters"]
    responses = [ResponseFactory(project=project, text=t, metadata={"plan": "basic" if i % 2 else "pro"})
                 for i, t in enumerate(texts)]
    labels = [[price], [price], [support], [support], [price]]
    annotation_submit(project=project, user=user, items=[
        AnnotationItem(response_id=r.pk, theme_ids=[t.pk for t in ts]) for r, ts in zip(responses[:4], labels, strict=False)])
    return project, user, responses, price, support


def _counts(project):
    return {t["theme"]: t["count"] for t in prevalence(scope=InsightsScope(project=project))["themes"]}


def test_a_new_label_is_counted_at_once(coded):
    project, user, responses, price, _ = coded
    assert _counts(project) == {"Price": 2, "Support": 2}
    annotation_submit(project=project, user=user, items=[AnnotationItem(response_id=responses[4].pk,
                                                                        theme_ids=[price.pk])])
    assert _counts(project) == {"Price": 3, "Support": 2}


def test_imported_responses_and_their_metadata_are_seen_at_once(coded):
    project, user, _, price, _ = coded
    assert [c["key"] for c in metadata_columns(project=project)] == ["plan"]
    new = ResponseFactory(project=project, text="The price doubled", metadata={"plan": "pro", "region": "North"})
    annotation_submit(project=project, user=user, items=[AnnotationItem(response_id=new.pk, theme_ids=[price.pk])])
    assert [c["key"] for c in metadata_columns(project=project)] == ["plan", "region"]
    north = InsightsScope(project=project, meta=(("region", "North"),))
    assert prevalence(scope=north)["respondents"] == 1
    # A word first written by the new response is found through the (rebuilt) term matrix.
    assert [r["id"] for r in term_responses(scope=north, theme_id=None, term="doubled")["responses"]] == [new.pk]


def test_a_view_reads_the_tables_once_per_state(coded):
    project, *_ = coded
    scope = InsightsScope(project=project)
    prevalence(scope=scope)
    with CaptureQueriesContext(connection) as again:
        prevalence(scope=scope)
    # Only the small state checks run again: no read of the project's responses or codings.
    tables = [q["sql"] for q in again.captured_queries if "labeling_app_response" in q["sql"]
              and "COUNT" not in q["sql"].upper()]
    assert tables == []


def test_the_vectorised_labels_follow_the_consensus_rules():
    from labeling_app.insights.selectors.data import label_table, response_table
    from labeling_app.labeling.models import Adjudication, Annotation
    from labeling_app.labeling.selectors.consensus import consensus_for_project

    project = ProjectFactory()
    a, b, lead = UserFactory(), UserFactory(), UserFactory()
    t1, t2, t3 = (ThemeFactory(project=project, name=n) for n in ("One", "Two", "Three"))
    gone = ThemeFactory(project=project, name="Archived", archived=True)
    r = [ResponseFactory(project=project) for _ in range(9)]

    def code(response, coder, themes, complete=True, **extra):
        Annotation.objects.create(response=response, coder=coder, is_complete=complete, **extra).themes.set(themes)

    code(r[0], a, [t1, gone])                       # one coder (archived theme not counted)
    code(r[1], a, [t1])                             # two coders who agree
    code(r[1], b, [t1])
    code(r[2], a, [t1])                             # two who disagree: left out
    code(r[2], b, [t2])
    code(r[3], a, [t1])                             # ... until a lead decides
    code(r[3], b, [t2])
    Adjudication.objects.create(response=r[3], decided_by=lead).themes.set([t3])
    code(r[4], a, [t2], complete=False)             # bulk-added only
    code(r[5], a, [t1])                             # complete plus bulk-added
    code(r[5], b, [t3], complete=False)
    code(r[6], a, [])                               # coded as no theme
    code(r[7], a, [], complete=False)               # a bulk annotation without a theme: not coded
    code(r[8], a, [t1], needs_recoding=True)        # sent back for recoding: not coded
    live = [t1.pk, t2.pk, t3.pk]
    table = label_table(project=project, source="human", theme_ids=live)
    ids = response_table(project=project).ids.tolist()
    got = {rid: {live[j] for j in table.labels[i].nonzero()[0]} for i, rid in enumerate(ids) if table.labelled[i]}
    expected = {rid: set(themes) & set(live) for rid, themes in consensus_for_project(project=project).resolved.items()}
    assert got == expected
    assert got == {r[0].pk: {t1.pk}, r[1].pk: {t1.pk}, r[3].pk: {t3.pk}, r[4].pk: {t2.pk},
                   r[5].pk: {t1.pk, t3.pk}, r[6].pk: set()}


def test_an_import_leaves_the_tables_in_the_shared_cache():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling_app.importing.services import import_file_run
    from labeling_app.insights.selectors import data as insights_data

    project = ProjectFactory()
    rows = "respondent_id,response,theme,plan\n1,Too expensive,Price,pro\n2,Nobody answers,Support,basic\n"
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("a.csv", rows.encode()))
    insights_data._local.clear()  # as in another web process: only the shared cache is there
    with CaptureQueriesContext(connection) as first:
        assert prevalence(scope=InsightsScope(project=project))["respondents"] == 2
        term_responses(scope=InsightsScope(project=project), theme_id=None, term="expensive")
    reads = [q["sql"] for q in first.captured_queries
             if ("labeling_app_response" in q["sql"] or "labeling_app_annotation" in q["sql"])
             and "COUNT" not in q["sql"].upper() and "text" not in q["sql"]]
    assert reads == []
