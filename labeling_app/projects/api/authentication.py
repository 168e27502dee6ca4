"""API token authentication with expiry (its own module: DRF imports it while its views module loads)."""
from asgiref.sync import sync_to_async
from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from labeling_app.projects.selectors.tokens import token_user_get


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token …`, refused once the token has expired (projects.selectors.tokens holds the rule)."""

    def authenticate_credentials(self, key: str):  # type: ignore[no-untyped-def]
        found = token_user_get(key=key, now=timezone.now())
        if found is None:
            raise AuthenticationFailed(_("Invalid token."))
        user, fresh = found
        if not fresh:
            raise AuthenticationFailed("Token expired: sign in again for a new one.")
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)


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
