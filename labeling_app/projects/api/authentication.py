"""API token authentication with expiry (its own module: DRF imports it while its views module loads)."""
from datetime import datetime
from typing import Any, cast

from asgiref.sync import sync_to_async
from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from labeling_app.core.db import table_quoted


def token_expires_at(token: Token) -> datetime:
    """When a token stops working."""
    return token.created + settings.TOKEN_TTL


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token …`, refused once the token is older than settings.TOKEN_TTL."""

    def authenticate_credentials(self, key: str):  # type: ignore[no-untyped-def]
        # DRF's own read (a select_related get) in one plain statement, with the expiry decided in it: this runs
        # on every API request, and the ORM's query building cost more than the statement under bench/load.py.
        fresh_after = connection.ops.adapt_datetimefield_value(timezone.now() - settings.TOKEN_TTL)
        found = list(User.objects.raw(_TOKEN_USER_SQL, [fresh_after, key]))
        if not found:
            raise AuthenticationFailed(_("Invalid token."))
        user, row = found[0], cast(Any, found[0])  # row: the user with the token's `token_fresh`
        if not row.token_fresh:
            raise AuthenticationFailed("Token expired: sign in again for a new one.")
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)


# The token's user, and whether the token was made after the given time (i.e. has not expired).
_TOKEN_USER_SQL = (
    f"SELECT u.*, t.created > %s AS token_fresh FROM {table_quoted(Token)} t "
    f"JOIN {table_quoted(User)} u ON u.id = t.user_id WHERE t.key = %s"
)


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for sign-ins over HTTP (login page, token endpoint, admin). A sign-in with no
    request (test clients, the shell) has no address to count against, so it is left to the password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):  # type: ignore[no-untyped-def, override]
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):  # type: ignore[no-untyped-def]
        # A session made by force_login names the first backend; it must be able to load the user again.
        return ModelBackend().get_user(user_id)

    async def aget_user(self, user_id):  # type: ignore[no-untyped-def]
        # django-axes' backend is not a BaseBackend: the async session loader (ASGI) needs this too.
        return await sync_to_async(self.get_user)(user_id)
