"""Which Annotation rows count as codings: one rule, for the ORM, for raw SQL and for a loaded row.

A coder's annotation of a response is *live* while it is their current version and is not waiting to be coded
again (a lead sent it back, or one of its themes was split): its themes count toward the response's consensus.
It *counts* as a coding when it is live and complete as well, the coder having considered every theme rather
than added one in bulk: a response with a counting coding is coded by that coder. The queue stops serving it
(blind overlap items: to that coder), agreement compares it, a lead's send-back returns it to its coder.

The rule is written once, as field values; the ORM expressions, the SQL fragment and the check of a loaded row are
built from them, and tests/labeling/test_codings.py checks that the ORM and SQL forms select the same rows.
"""
from django.db import connection
from django.db.models import Q

from labeling_app.labeling.models import Annotation

_LIVE = {"is_current": True, "needs_recoding": False}
_COUNTS = {**_LIVE, "is_complete": True}

#: Live annotations: current, not waiting to be coded again (their themes, complete or bulk-added, count).
CODING_LIVE = Q(**_LIVE)
#: Annotations that count as codings: live and complete.
CODING_COUNTS = Q(**_COUNTS)


def coding_counts_sql(alias: str) -> str:
    """`CODING_COUNTS` as a SQL condition on the annotation table read under ``alias`` (no parameters)."""
    quote = connection.ops.quote_name
    columns = {f.name: str(f.column) for f in Annotation._meta.concrete_fields}
    terms = []
    for name, wanted in _COUNTS.items():
        column = f"{alias}.{quote(columns[name])}"
        terms.append(column if wanted else f"NOT {column}")
    return "(" + " AND ".join(terms) + ")"


def coding_counts(annotation: Annotation) -> bool:
    """Whether a loaded annotation counts as a coding (`CODING_COUNTS`)."""
    return all(getattr(annotation, name) == wanted for name, wanted in _COUNTS.items())
