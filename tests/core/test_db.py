"""The raw SQL helpers: inserts built from the model's fields, IN-lists within the cap, on either database."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling_app.core.db import IN_LIST_CAP, ids_chunked, rows_delete, rows_insert, sql_marks, table_quoted
from labeling_app.labeling.models import LabelQueue
from labeling_app.projects.models import Response
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_ids_are_chunked_at_the_cap_in_order():
    ids = list(range(2 * IN_LIST_CAP + 1))
    chunks = list(ids_chunked(ids))
    assert [len(c) for c in chunks] == [IN_LIST_CAP, IN_LIST_CAP, 1]
    assert [pk for chunk in chunks for pk in chunk] == ids
    assert list(ids_chunked([])) == []
    assert [len(c) for c in ids_chunked(ids, 400)] == [400, 400, 201]


@pytest.mark.parametrize("bulk", [False, True])
def test_an_insert_fills_defaults_and_timestamps_and_converts_values(bulk):
    project = ProjectFactory()
    before = timezone.now()
    rows_insert(Response(project=project, text="same"), ("respondent_id", "metadata"),
                [(f"R{i}", {"n": i, "quote": "it's"}) for i in range(3)], bulk=bulk)
    rows_insert(LabelQueue(response_ids=[3, 1, 2], strategy="margin"), ("project_id",), [(project.pk,)], bulk=bulk)
    after = timezone.now()
    made = list(project.responses.order_by("respondent_id"))
    assert [(r.respondent_id, r.text, r.metadata, r.is_overlap) for r in made] == [
        (f"R{i}", "same", {"n": i, "quote": "it's"}, False) for i in range(3)]
    assert all(before <= r.created_at <= after for r in made)  # auto_now_add
    queue = LabelQueue.objects.get(project=project)
    assert (queue.response_ids, queue.strategy) == ([3, 1, 2], "margin")
    assert before <= queue.built_at <= after  # auto_now


def test_an_insert_quotes_the_table_and_column_names():
    project = ProjectFactory()
    with CaptureQueriesContext(connection) as ran:
        rows_insert(Response(project=project, text="t"), ("respondent_id",), [("R1",)])
    quote = connection.ops.quote_name
    (sql,) = [q["sql"] for q in ran.captured_queries if q["sql"].startswith("INSERT")]
    assert sql.startswith(f"INSERT INTO {quote(Response._meta.db_table)} (")
    for field in ("project_id", "respondent_id", "text", "metadata", "import_job_id", "is_overlap", "created_at"):
        assert quote(field) in sql


def test_an_insert_of_more_rows_than_one_statement_takes_is_split_and_complete():
    project = ProjectFactory()
    n = connection.features.max_query_params or 2 * IN_LIST_CAP  # no bound on PostgreSQL: many rows all the same
    with CaptureQueriesContext(connection) as ran:
        rows_insert(Response(project=project, text="t"), ("respondent_id",), [(f"R{i:05d}",) for i in range(n)])
    inserts = [q for q in ran.captured_queries if q["sql"].startswith("INSERT")]
    assert project.responses.count() == n
    if connection.vendor == "postgresql":
        assert len(inserts) == 1
    else:
        assert len(inserts) > 1


def test_reads_of_more_ids_than_the_cap_in_chunks_find_every_row():
    project = ProjectFactory()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"R{i:05d}", text="t")
                                 for i in range(2 * IN_LIST_CAP + 7))
    ids = list(project.responses.values_list("pk", flat=True))
    found: set[int] = set()
    with connection.cursor() as cursor:
        for chunk in ids_chunked(ids):
            cursor.execute(f"SELECT id FROM {table_quoted(Response)} WHERE id IN ({sql_marks(len(chunk))})", chunk)
            found.update(pk for (pk,) in cursor.fetchall())
    assert found == set(ids)


def test_timestamps_are_written_as_the_orm_writes_them():
    """A row written by the helper reads back equal to one the ORM wrote (time zone and precision)."""
    project = ProjectFactory()
    at = timezone.now() - timedelta(days=3)
    rows_insert(Response(project=project, text="t"), ("respondent_id", "created_at"), [("R1", at)])
    orm = Response.objects.create(project=project, respondent_id="R2", text="t")
    orm.created_at = at
    orm.save(update_fields=["created_at"])
    assert Response.objects.get(respondent_id="R1").created_at == Response.objects.get(pk=orm.pk).created_at == at


def test_a_delete_takes_only_the_rows_of_its_ids_and_values_in_one_statement_a_chunk():
    project, other = ProjectFactory(), ProjectFactory()
    for p in (project, other):
        rows_insert(Response(project=p, text="t"), ("respondent_id",), [(f"R{i}",) for i in range(2 * IN_LIST_CAP + 1)])
    ids = list(project.responses.values_list("pk", flat=True)) + list(other.responses.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as ran:
        rows_delete(Response, ids, project_id=project.pk)
        rows_delete(Response, [])  # nothing: no statement
    assert [q["sql"].split()[0] for q in ran.captured_queries] == ["DELETE"] * 5  # 2 x 1001 ids, 500 a chunk
    assert not project.responses.exists()
    assert other.responses.count() == 2 * IN_LIST_CAP + 1
