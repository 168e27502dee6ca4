"""Who is asking: the client's address, decided once per request from the configured trusted proxies.

`X-Forwarded-For` is believed only from a peer listed in settings.FORWARDED_ALLOW_IPS (addresses or networks;
empty, the default, trusts no proxy), and then only as far as its trusted hops go: the header is read from the
right (the entry the nearest proxy appended) and the first address that is not itself a trusted proxy is the
client. Anything a client wrote further left is never used, so a new header value cannot make a new client
for the login lockout (django-axes reads this address) or the API's throttles. The production server
(gunicorn.conf.py) trusts no proxy itself and passes the TCP peer on unchanged, so this is the one place the
address is decided.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PEER_KEY = "themeloop.peer_address"  # request.META: the TCP peer as the server saw it, before the decision
CLIENT_KEY = "themeloop.client_address"  # request.META: the decided client address


def trusted_networks_parse(value: str | Iterable[str]) -> tuple[Network, ...]:
    """The trusted proxies from "10.0.0.5, 10.1.0.0/16, ::1" (or a list of such); ImproperlyConfigured on a
    value that is neither an address nor a network ("*" is refused: trusting every peer is the bypass)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[Network] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"FORWARDED_ALLOW_IPS: {item!r} is not an IP address or network") from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address_decide(*, peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer itself unless it is a trusted proxy; else the rightmost address in
    X-Forwarded-For that is not a trusted proxy (the leftmost when every hop is trusted). A malformed entry
    stops the walk at the last good hop: what lies left of it was written by someone no proxy vouches for."""

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in network for network in trusted)

    if not forwarded_for or not is_trusted(_address(peer)):
        return peer
    client = peer
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            return client
        client = str(address)
        if not is_trusted(address):
            return client
    return client


@lru_cache(maxsize=8)
def _trusted(value: tuple[str, ...] | str) -> tuple[Network, ...]:
    return trusted_networks_parse(value)


def trusted_networks() -> tuple[Network, ...]:
    value = settings.FORWARDED_ALLOW_IPS
    return _trusted(value if isinstance(value, str) else tuple(value))


def client_ip(request: HttpRequest) -> str:
    """The request's client address (django-axes' AXES_CLIENT_IP_CALLABLE): the one ClientAddressMiddleware
    decided, or decided now for a request that did not pass it."""
    meta = request.META
    if CLIENT_KEY not in meta:
        meta[CLIENT_KEY] = client_address_decide(peer=meta.get("REMOTE_ADDR", ""),
                                                 forwarded_for=meta.get("HTTP_X_FORWARDED_FOR"),
                                                 trusted=trusted_networks())
    return meta[CLIENT_KEY]


def _decide(request: HttpRequest) -> None:
    meta = request.META
    meta.setdefault(PEER_KEY, meta.get("REMOTE_ADDR", ""))
    meta["REMOTE_ADDR"] = client_ip(request)


@sync_and_async_middleware
def client_address_middleware(get_response: Callable) -> Callable:
    """First in MIDDLEWARE: sets REMOTE_ADDR to the decided client address (the peer is kept under PEER_KEY),
    so everything after it (django-axes, DRF throttles with NUM_PROXIES=0, logs) sees the same client. Sync and
    async alike, so the event streams' async views keep running on the event loop."""
    if iscoroutinefunction(get_response):
        async def middleware_async(request: HttpRequest) -> HttpResponse:
            _decide(request)
            return await get_response(request)

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        _decide(request)
        return get_response(request)

    return middleware
