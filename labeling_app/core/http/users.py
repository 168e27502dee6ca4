from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request


def request_user(request: Request) -> User:
    """The authenticated user of an API request (views already require authentication)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
