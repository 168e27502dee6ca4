"""Token expiry is one rule (projects.selectors.tokens) read four ways: the Python expression, the SQL fragment in
the per-request read, the API authentication and the token endpoint. On either side of the instant a token
expires, and at the instant itself, all four give the same answer."""
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling_app.projects.selectors.tokens import token_expires_at, token_is_expired, token_user_get
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)
# Ages past the TTL: negative still works, zero or more has expired.
AGES = {"a second before": -timedelta(seconds=1), "just before": -US, "at the instant": timedelta(0),
        "just after": US, "a second after": timedelta(seconds=1)}


@pytest.mark.parametrize("now", [datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC),
                                 datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)],  # no fraction: SQLite writes none
                         ids=["fraction", "whole second"])
@pytest.mark.parametrize("past_ttl", list(AGES.values()), ids=list(AGES))
def test_every_reader_of_a_token_agrees_on_whether_it_has_expired(monkeypatch, now, past_ttl):
    monkeypatch.setattr(timezone, "now", lambda: now)
    user = UserFactory(username="holder")
    created = now - settings.TOKEN_TTL - past_ttl
    token = Token.objects.create(user=user)
    Token.objects.filter(pk=token.pk).update(created=created)
    expected = past_ttl >= timedelta(0)

    by_python = token_is_expired(created=created, now=now)
    found = token_user_get(key=token.key, now=now)
    assert found is not None and found[0] == user
    by_sql = not found[1]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    answer = client.get("/api/projects/")
    assert answer.status_code in (200, 401, 403)
    by_api = answer.status_code != 200
    if by_api:
        assert "expired" in answer.json()["message"]

    issued = APIClient().post("/api/auth/token/", {"username": "holder", "password": PASSWORD}, format="json")
    assert issued.status_code == 200
    by_endpoint = issued.json()["token"] != token.key  # an expired token is replaced, a working one handed back
    if not by_endpoint:
        assert datetime.fromisoformat(issued.json()["expires_at"]) == token_expires_at(created=created)

    assert (by_python, by_sql, by_api, by_endpoint) == (expected,) * 4
