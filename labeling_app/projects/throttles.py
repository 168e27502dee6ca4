"""Rate limits of the API's expensive requests, per signed-in user (shared by the endpoints of several packages)."""
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView


class UserScopedThrottle(ScopedRateThrottle):
    """ScopedRateThrottle per user, keyed by when the user joined too: a user id reused after a database reset
    (tests, a restored backup) does not inherit another account's history."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user = request.user
        if not user or not user.is_authenticated:
            return super().get_cache_key(request, view)
        ident = f"{user.pk}-{user.date_joined.timestamp():.6f}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ThrottledCreateMixin:
    """Throttles a view's POST (the request that starts work) under `throttle_scope`; reads stay free."""

    def get_throttles(self) -> list:
        method = getattr(getattr(self, "request", None), "method", None)
        return [UserScopedThrottle()] if method == "POST" else []
