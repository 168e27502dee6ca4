"""What counts as a coding: the ORM expression, the SQL fragment and the check of a loaded row select the same
annotations, in every state an annotation can be in (on whichever database the suite runs on)."""
from itertools import product

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from labeling_app.core.db import table_quoted
from labeling_app.importing.services import import_file_run
from labeling_app.labeling.codings import CODING_COUNTS, CODING_LIVE, coding_counts, coding_counts_sql
from labeling_app.labeling.models import Annotation, AutoCode, AutoCoding
from labeling_app.labeling.services import queue
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit, annotations_add_theme
from labeling_app.labeling.services.theme_recode import theme_split
from labeling_app.projects.models import Response
from labeling_app.review.services.adjudication import disagreement_resolve, disagreement_send_back
from tests.factories import ProjectFactory, ResponseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _every_state(pp) -> None:
    """Annotations in every state: each combination of the rule's fields by hand, and the states the services
    make (recoded, bulk-added, blind overlap coders, sent back, adjudicated, split, imported)."""
    project, (price, delivery) = pp.project, pp.themes
    for n, (current, complete, recode, source) in enumerate(product(
            (True, False), (True, False), (True, False), Annotation.Source.values)):
        response = ResponseFactory(project=project, respondent_id=f"grid-{n}")
        Annotation.objects.create(response=response, coder=pp.analyst, source=source, is_current=current,
                                  is_complete=complete, needs_recoding=recode)

    def fresh(name: str) -> int:
        return ResponseFactory(project=project, respondent_id=name).pk

    recoded, bulk, blind, sent_back, decided, split = (fresh(name) for name in (
        "recoded", "bulk", "blind", "sent-back", "decided", "split"))
    Response.objects.filter(pk__in=[blind, sent_back]).update(is_overlap=True)
    annotation_submit(project=project, user=pp.analyst, items=[AnnotationItem(recoded, [price.pk])])
    annotation_submit(project=project, user=pp.analyst, items=[AnnotationItem(recoded, [delivery.pk])])
    annotations_add_theme(project=project, user=pp.analyst2, response_ids=[bulk, recoded], theme_id=price.pk)
    for user, theme in ((pp.analyst, price), (pp.analyst2, delivery)):
        annotation_submit(project=project, user=user, items=[AnnotationItem(r, [theme.pk])
                                                             for r in (blind, sent_back, decided)])
    disagreement_send_back(project=project, lead=pp.lead, response_id=sent_back, comment="look again")
    disagreement_resolve(project=project, lead=pp.lead, response_id=decided, theme_ids=[price.pk])
    annotation_submit(project=project, user=pp.analyst, items=[AnnotationItem(split, [delivery.pk])])
    theme_split(project=project, theme=delivery, names=["Late", "Lost"])
    data = ("respondent_id,response,theme,coder\nF1,first,Price,Ruth\nF1,first,Price,Sam\nF2,second,,Ruth\n"
            "F2,second,Price,Sam\n")
    job = import_file_run(project=project, user=pp.admin, upload=SimpleUploadedFile("team.csv", data.encode()))
    assert job.status == "succeeded", job.message
    job = import_file_run(project=ProjectFactory(), user=None, upload=SimpleUploadedFile(
        "plain.csv", b"respondent_id,response,theme\nP1,plain,Price\nP2,plain too,\n"))
    assert job.status == "succeeded", job.message


def _sql_ids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.id FROM {table_quoted(Annotation)} a WHERE {coding_counts_sql('a')}")
        return {pk for (pk,) in cursor.fetchall()}


def test_the_orm_expression_the_sql_fragment_and_the_row_check_select_the_same_codings(prepare_project):
    _every_state(prepare_project)
    rows = list(Annotation.objects.all())
    orm = set(Annotation.objects.filter(CODING_COUNTS).values_list("pk", flat=True))
    assert orm == _sql_ids() == {a.pk for a in rows if coding_counts(a)}
    # Every state is there, on both sides of the rule, and the rule is what it says.
    assert {(a.is_current, a.is_complete, a.needs_recoding) for a in rows} == set(product((True, False), repeat=3))
    assert orm == {a.pk for a in rows if a.is_current and a.is_complete and not a.needs_recoding}
    assert {a.source for a in rows if a.pk in orm} == set(Annotation.Source.values)
    assert set(Annotation.objects.filter(CODING_LIVE).values_list("pk", flat=True)) == {
        a.pk for a in rows if a.is_current and not a.needs_recoding}


def test_the_queue_statements_see_the_codings_the_orm_sees(prepare_project):
    pp = prepare_project
    _every_state(pp)
    ids = list(Response.objects.order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(queue._SERVABLE_SQL.format(ids=", ".join(["%s"] * len(ids))),
                       [connection.ops.adapt_datetimefield_value(timezone.now()), *ids, *ids, *ids])
        seen = {(response, coder) for is_coding, response, coder, _ in cursor.fetchall() if is_coding}
    assert seen == set(Annotation.objects.filter(CODING_COUNTS).values_list("response_id", "coder_id"))
    # The window read marks a response taken once anyone's coding counts (overlap items aside: kept for the claim).
    project_ids = list(pp.project.responses.filter(is_overlap=False).values_list("pk", flat=True))
    free, gone = queue._window_check(pp.project, UserFactory(), timezone.now(), project_ids)
    coded = set(Annotation.objects.filter(CODING_COUNTS, response_id__in=project_ids)
                .values_list("response_id", flat=True))
    assert gone == coded and free == set(project_ids) - coded


def test_the_queue_statements_see_the_models_codes_as_taken_but_the_blind_checks_as_free(prepare_project):
    pp = prepare_project
    auto, checked, undone = (ResponseFactory(project=pp.project) for _ in range(3))
    active = AutoCoding.objects.create(project=pp.project, target=0.85, created_by=pp.lead)
    AutoCode.objects.create(auto_coding=active, response=auto, theme_ids=[pp.themes[0].pk])
    AutoCode.objects.create(auto_coding=active, response=checked, theme_ids=[pp.themes[0].pk], in_qc=True)
    # An undone auto-coding's codes (undo deletes them; say one were left) take nothing.
    old = AutoCoding.objects.create(project=pp.project, target=0.9, created_by=pp.lead, undone_at=timezone.now())
    AutoCode.objects.create(auto_coding=old, response=undone, theme_ids=[])
    ids = [auto.pk, checked.pk, undone.pk]
    with connection.cursor() as cursor:
        cursor.execute(queue._SERVABLE_SQL.format(ids=", ".join(["%s"] * len(ids))),
                       [connection.ops.adapt_datetimefield_value(timezone.now()), *ids, *ids, *ids])
        assert {(response, coder) for is_coding, response, coder, _ in cursor.fetchall() if is_coding} == {(auto.pk, 0)}
    free, gone = queue._window_check(pp.project, UserFactory(), timezone.now(), ids)
    assert gone == {auto.pk} and free == {checked.pk, undone.pk}
