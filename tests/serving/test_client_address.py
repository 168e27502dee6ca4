"""The production web command decides the client's address as the app does (issue 26): uvicorn no longer
believes X-Forwarded-For from loopback by itself, so a client on the host cannot escape a login lockout by
sending new header values; with FORWARDED_ALLOW_IPS naming the proxy, each client behind it is locked apart."""
import http.client
import json
import shlex
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.serving.test_production_server import production_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.worker


def _token(port: int, password: str, forwarded: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/api/auth/token/", body=json.dumps({"username": "target", "password": password}),
                     headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture
def target_user(transactional_db):
    # Hashed as the server checks it (the tests' settings hash with MD5, which the server does not know).
    user = UserFactory(username="target")
    user.password = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())
    user.save(update_fields=["password"])
    return user


def test_changing_forwarded_for_from_loopback_does_not_escape_the_lockout(target_user, production_server):  # noqa: F811
    for i in range(django_settings.AXES_FAILURE_LIMIT + 3):
        assert _token(production_server, "wrong", f"198.51.100.{i}") in (400, 429)
    assert _token(production_server, PASSWORD, "198.51.100.250") == 429


@pytest.fixture
def loopback_is_the_proxy(monkeypatch):
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")


def test_behind_a_trusted_proxy_each_client_is_locked_apart(loopback_is_the_proxy, target_user,
                                                             production_server):  # noqa: F811
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        _token(production_server, "wrong", "198.51.100.7")
    assert _token(production_server, PASSWORD, "198.51.100.7") == 429
    assert _token(production_server, PASSWORD, "192.0.2.1, 198.51.100.7") == 429
    assert _token(production_server, PASSWORD, "198.51.100.8") == 200


def test_the_several_machines_web_command_has_a_control_socket_of_its_own():
    # Two instances on one host must not share gunicorn's default control socket (issue 26).
    from gunicorn.config import Config

    root = Path(__file__).resolve().parents[2]
    row = next(line for line in (root / "docs" / "operations.md").read_text().splitlines()
               if line.startswith("| web |"))
    argv = shlex.split(row.split("`")[1])
    assert argv[0] == "gunicorn"
    args = Config().parser().parse_args(argv[1:])
    assert args.control_socket and args.control_socket != Config().control_socket
    assert "8000" in args.control_socket and "--bind" in argv and "0.0.0.0:8000" in argv
