"""API tokens: issued on sign-in (the same one while it works), revoked on request."""
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token

from labeling_app.projects.selectors.tokens import token_is_expired


def token_issue(*, user: User) -> Token:
    """The user's token: the one they hold while it works, else a new one in place of the expired one."""
    token, _ = Token.objects.get_or_create(user=user)
    if token_is_expired(created=token.created, now=timezone.now()):
        token.delete()
        token = Token.objects.create(user=user)
    return token


def token_revoke(*, user_id: int | None) -> None:
    """Delete the user's token (nothing for an anonymous caller)."""
    Token.objects.filter(user_id=user_id or 0).delete()
