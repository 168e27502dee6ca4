"""When an API token stops working: one rule, written once for Python and once for SQL, side by side.

A token works while ``now < created + settings.TOKEN_TTL``; from ``created + TOKEN_TTL`` on it has expired. The SQL
form is the same inequality with the TTL moved to the parameter (``created > now - TOKEN_TTL``), so the database
compares a column with a value and needs no date arithmetic of its own (SQLite and PostgreSQL differ there).
tests/projects/test_tokens.py holds both forms to the same answer on either side of the instant.
"""
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token

from labeling_app.core.db import table_quoted


def token_expires_at(*, created: datetime) -> datetime:
    """When a token made at ``created`` stops working."""
    return created + settings.TOKEN_TTL


def token_is_expired(*, created: datetime, now: datetime) -> bool:
    """Whether a token made at ``created`` no longer works at ``now`` (the rule in Python)."""
    return token_expires_at(created=created) <= now


# The rule in SQL, over the token table aliased `t`: true while the token works. Its one parameter is
# token_fresh_param(now=...).
TOKEN_FRESH_SQL = "t.created > %s"


def token_fresh_param(*, now: datetime) -> Any:
    """The value TOKEN_FRESH_SQL compares with: tokens made after it still work at ``now``."""
    return connection.ops.adapt_datetimefield_value(now - settings.TOKEN_TTL)


# The token's user, and whether the token still works. DRF's own read is a select_related get; this is the same
# in one plain statement because it runs on every API request (the ORM's query building cost more than the
# statement under bench/load.py).
_TOKEN_USER_SQL = (
    f"SELECT u.*, {TOKEN_FRESH_SQL} AS token_fresh FROM {table_quoted(Token)} t "
    f"JOIN {table_quoted(User)} u ON u.id = t.user_id WHERE t.key = %s"
)


def token_user_get(*, key: str, now: datetime) -> tuple[User, bool] | None:
    """The user of the token ``key`` and whether the token still works at ``now``; None for an unknown key."""
    found = list(User.objects.raw(_TOKEN_USER_SQL, [token_fresh_param(now=now), key]))
    if not found:
        return None
    return found[0], bool(cast(Any, found[0]).token_fresh)
