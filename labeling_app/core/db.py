"""Raw SQL helpers: the same statements on SQLite and PostgreSQL, names quoted, values passed as parameters.

Raw SQL is kept for the statements that run on every request (the queue's leases and reads, the token and
membership reads) or once per imported row, where the ORM's Python work would be most of the cost. These helpers
keep that SQL portable: inserts are built from the model's fields (auto timestamps, defaults, each value converted
as the ORM converts it for the database in use), and lists of ids passed to a statement stay within SQLite's
bound on a statement's parameters.
"""
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

#: At most this many ids are listed in one statement's IN (...): SQLite bounds the parameters of a statement
#: (Django assumes 999 there), and this is Django's own batch size for one field on SQLite.
IN_LIST_CAP = 500


def ids_chunked(ids: Sequence[int], size: int = IN_LIST_CAP) -> Iterator[list[int]]:
    """``ids`` in consecutive lists of at most ``size``, for IN-lists within the cap; nothing for no ids."""
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def sql_marks(count: int) -> str:
    """``count`` parameter placeholders, comma-separated, for an IN (...) list or a VALUES (...) row."""
    return ", ".join(["%s"] * count)


def table_quoted(model: type[Model]) -> str:
    """The model's table name, quoted for raw SQL on the database in use."""
    return connection.ops.quote_name(model._meta.db_table)


def rows_insert(template: Model, fields: Sequence[str], rows: Sequence[Sequence[Any]], *, bulk: bool = False) -> None:
    """INSERT one row of ``template``'s model per tuple of ``rows``, as bulk_create would write it.

    ``fields`` (attnames, e.g. ``response_id``) take their values from each tuple, in that order, written as given;
    every other concrete field but the primary key as ``template`` would be saved: its values and defaults, with
    auto_now and auto_now_add timestamps filled. Prepared once for all rows, with no model instance per row.
    ``bulk``: many rows (see `values_insert`).
    """
    model = type(template)
    by_name = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    fixed = {name: f.get_db_prep_save(f.pre_save(template, add=True), connection)
             for name, f in by_name.items() if name not in fields}
    constant, prepare = tuple(fixed.values()), [by_name[name].get_db_prep_save for name in fields]
    values_insert(model._meta.db_table, [str(by_name[name].column) for name in [*fixed, *fields]],
                  [constant + tuple(p(v, connection) for p, v in zip(prepare, row, strict=True)) for row in rows],
                  bulk=bulk)


def values_insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, bulk: bool = False) -> None:
    """INSERT rows of values already converted for the database (plain ids, or as `rows_insert` converts them).

    A few rows: multi-row INSERT statements, each with as many rows as the database takes parameters for.
    ``bulk`` (many rows): COPY on PostgreSQL, one prepared statement run per row elsewhere (SQLite).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    head = f"INSERT INTO {quote(table)} ({names}) VALUES "
    row = f"({sql_marks(len(columns))})"  # %s: Django's cursor turns it into each backend's own placeholder
    with connection.cursor() as cursor:
        if bulk and connection.vendor == "postgresql":
            # One statement for all rows: INSERTs cost a round trip a row, or (many rows a statement) the
            # client's scan of every placeholder; triggers and constraints apply to COPY as to INSERT.
            with connection.wrap_database_errors, cursor.cursor.copy(
                    f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for values in rows:  # the raw cursor's copy: wrapped above so errors come as Django's
                    copy.write_row(values)
        elif bulk:
            cursor.executemany(head + row, rows)
        else:
            size = max(1, connection.ops.bulk_batch_size(list(columns), rows))  # rows within the parameter bound
            for start in range(0, len(rows), size):
                batch = rows[start:start + size]
                cursor.execute(head + ", ".join([row] * len(batch)), [value for values in batch for value in values])


def rows_delete(model: type[Model], ids: Sequence[Any], *, field: str = "id", **equal: Any) -> None:
    """DELETE ``model``'s rows whose ``field`` is one of ``ids`` and whose other fields (attnames) have the values
    of ``equal``: one statement a chunk of ids, without the ORM's collector (which reads nothing for such a model
    but costs a request's worth of Python). Only for models no row refers to and no delete signal listens to."""
    if not ids:
        return
    columns = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    column = {name: connection.ops.quote_name(columns[name]) for name in [field, *equal]}
    where = "".join(f" AND {column[name]} = %s" for name in equal)
    with connection.cursor() as cursor:
        for chunk in ids_chunked(list(ids)):
            cursor.execute(f"DELETE FROM {table_quoted(model)} WHERE {column[field]} IN ({sql_marks(len(chunk))})"
                           + where, [*chunk, *equal.values()])
