"""API sign-in: tokens that expire and can be revoked, and per-user throttles for requests that start work.

Wrong passwords are counted by django-axes (settings.AUTHENTICATION_BACKENDS): past the limit the token
endpoint answers 403 for that username from that address, even with the right password, until the cool-off.
"""
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling_app.projects.selectors.tokens import token_expires_at
from labeling_app.projects.services.tokens import token_issue, token_revoke

TokenOut = inline_serializer("Token", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()})


class TokenView(APIView):
    """POST username and password for a token (the same one until it expires); DELETE revokes the caller's."""

    serializer_class = AuthTokenSerializer

    def get_permissions(self):  # type: ignore[no-untyped-def]
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    @extend_schema(request=AuthTokenSerializer, responses={200: TokenOut})
    def post(self, request: Request) -> HttpResponse:
        # django-axes' middleware cannot see a lockout decided under DRF's request wrapper: ask it directly.
        data = request.data if isinstance(request.data, dict) else {}
        # The username's own checks first (a NUL byte cannot even be looked up in PostgreSQL).
        username = serializers.CharField(trim_whitespace=False).run_validation(data.get("username", ""))
        credentials = {"username": username}
        if AxesProxyHandler.is_locked(request._request, credentials):
            return lockout_response(request._request, None, credentials)
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            if AxesProxyHandler.is_locked(request._request, credentials):
                return lockout_response(request._request, None, credentials)
            raise ValidationError(serializer.errors)
        token = token_issue(user=serializer.validated_data["user"])
        return Response({"token": token.key, "expires_at": token_expires_at(created=token.created)})

    @extend_schema(request=None, responses={204: OpenApiResponse(description="revoked")})
    def delete(self, request: Request) -> Response:
        token_revoke(user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: the API's error shape on /api/, the lockout page elsewhere."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = f"Too many failed sign-ins: try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message, "details": None}, status=429)
    return render(request, "labeling_app/projects/locked_out.html", {"message": message}, status=429)
