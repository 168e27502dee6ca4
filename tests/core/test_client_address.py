"""The client's address is decided once, from the trusted proxies (FORWARDED_ALLOW_IPS): a login lockout holds
against a changing X-Forwarded-For from a peer nobody trusts, and behind a trusted proxy each client is locked
out on their own (issue 26)."""
import pytest
from django.test import Client

from labeling_app.core.http.client_address import client_address_decide, trusted_networks_parse
from tests.conftest import PASSWORD
from tests.factories import UserFactory

PROXY = "10.0.0.5"


def _token(client: Client, password: str, *, peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post("/api/auth/token/", {"username": "target", "password": password},
                       content_type="application/json", **extra)


@pytest.mark.django_db
def test_an_untrusted_peer_cannot_escape_the_lockout_with_new_forwarded_for_values(settings):
    settings.FORWARDED_ALLOW_IPS = []
    UserFactory(username="target")
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT + 5):
        assert _token(client, "wrong", peer="203.0.113.9", forwarded=f"198.51.100.{i}").status_code in (400, 429)
    locked = _token(client, PASSWORD, peer="203.0.113.9", forwarded="198.51.100.250")
    assert locked.status_code == 429


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_is_locked_out_on_their_own(settings):
    settings.FORWARDED_ALLOW_IPS = [PROXY]
    UserFactory(username="target")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(client, "wrong", peer=PROXY, forwarded="198.51.100.7")
    assert _token(client, PASSWORD, peer=PROXY, forwarded="198.51.100.7").status_code == 429
    # What the locked client writes left of the proxy's entry changes nothing.
    assert _token(client, PASSWORD, peer=PROXY, forwarded="192.0.2.1, 198.51.100.7").status_code == 429
    # Another client behind the same proxy signs in.
    assert _token(client, PASSWORD, peer=PROXY, forwarded="198.51.100.8").status_code == 200


def test_the_address_is_the_rightmost_hop_no_trusted_proxy_vouches_past():
    trusted = trusted_networks_parse("10.0.0.0/8, ::1")
    decide = client_address_decide
    assert decide(peer="203.0.113.9", forwarded_for="1.2.3.4", trusted=trusted) == "203.0.113.9"
    assert decide(peer="10.0.0.5", forwarded_for=None, trusted=trusted) == "10.0.0.5"
    assert decide(peer="10.0.0.5", forwarded_for="1.2.3.4, 5.6.7.8", trusted=trusted) == "5.6.7.8"
    assert decide(peer="10.0.0.5", forwarded_for="1.2.3.4, 5.6.7.8, 10.9.9.9", trusted=trusted) == "5.6.7.8"
    assert decide(peer="10.0.0.5", forwarded_for="not-an-ip, 10.1.1.1", trusted=trusted) == "10.1.1.1"
    assert decide(peer="10.0.0.5", forwarded_for="[2001:db8::1]:443", trusted=trusted) == "2001:db8::1"
    assert decide(peer="::1", forwarded_for="5.6.7.8:1234", trusted=trusted) == "5.6.7.8"
    with pytest.raises(Exception, match="FORWARDED_ALLOW_IPS"):
        trusted_networks_parse("*")
