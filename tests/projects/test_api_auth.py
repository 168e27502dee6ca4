"""Sign-in abuse: wrong passwords lock a username out (token endpoint and login page), tokens expire and can be
revoked, and starting expensive work is throttled per user."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _token(client: APIClient, username: str, password: str):
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json")


def test_wrong_passwords_lock_the_token_endpoint_even_for_the_right_one(settings):
    user = UserFactory(username="target")
    client = APIClient()
    assert _token(client, "target", PASSWORD).status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert _token(client, "target", "wrong").status_code in (400, 429)
    locked = _token(client, "target", PASSWORD)
    assert locked.status_code == 429 and "try again" in locked.json()["message"]
    assert "token" not in locked.json()
    # Another user from the same address is not locked out with them.
    other = UserFactory(username="bystander")
    assert _token(client, other.username, PASSWORD).status_code == 200
    assert user.pk


def test_wrong_passwords_lock_the_login_page(settings):
    UserFactory(username="target")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "target", "password": "wrong"})
    page = client.post("/login/", {"username": "target", "password": PASSWORD})
    assert page.status_code == 429 and b"try again" in page.content
    assert "_auth_user_id" not in client.session


def test_tokens_expire_and_can_be_revoked(settings):
    user = UserFactory(username="someone")
    client = APIClient()
    first = _token(client, "someone", PASSWORD).json()
    assert _token(client, "someone", PASSWORD).json()["token"] == first["token"]  # the same until it expires
    client.credentials(HTTP_AUTHORIZATION=f"Token {first['token']}")
    assert client.get("/api/projects/").status_code == 200
    Token.objects.filter(user=user).update(created=timezone.now() - settings.TOKEN_TTL - timedelta(seconds=1))
    expired = client.get("/api/projects/")
    # 403 rather than 401: DRF answers with the first authentication class's header (session, which has none).
    assert expired.status_code in (401, 403) and "expired" in expired.json()["message"]
    fresh = _token(APIClient(), "someone", PASSWORD).json()
    assert fresh["token"] != first["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh['token']}")
    assert client.get("/api/projects/").status_code == 200
    assert client.delete("/api/auth/token/").status_code == 204
    assert client.get("/api/projects/").status_code in (401, 403)


def test_a_token_is_refused_once_its_user_is_deactivated_and_an_unknown_one_always():
    user = UserFactory(username="leaver")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_token(client, 'leaver', PASSWORD).json()['token']}")
    assert client.get("/api/projects/").status_code == 200
    user.is_active = False
    user.save()
    refused = client.get("/api/projects/")
    assert refused.status_code in (401, 403) and "inactive" in refused.json()["message"]
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    unknown = client.get("/api/projects/")
    assert unknown.status_code in (401, 403) and "Invalid token" in unknown.json()["message"]


def test_starting_discovery_runs_is_throttled_per_user(prepare_project, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "discovery": "3/minute"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    url = f"/api/projects/{prepare_project.project.pk}/discovery-runs/"
    analyst = prepare_project.client("analyst")
    answers = [analyst.post(url, {}, format="json").status_code for _ in range(5)]
    assert answers[:3] == [201, 201, 201] or all(a in (201, 202) for a in answers[:3])
    assert answers[3:] == [429, 429]
    assert analyst.get(url).status_code == 200  # reading is not throttled
    # Another analyst has their own allowance.
    assert prepare_project.client("analyst2").post(url, {}, format="json").status_code in (201, 202)


def test_a_username_with_a_nul_byte_is_a_400():
    answer = APIClient().post("/api/auth/token/", {"username": "a\x00b", "password": "x"}, format="json")
    assert answer.status_code == 400
