"""One error shape for the whole API: {"message": ..., "details": ...}."""
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DetailedInputError(Exception):
    """Bad input that carries a list of details (the rows of a file that cannot be imported): a 400 whose
    `details` lists them. Subclassed where the input is read (importing.errors), so this layer imports nothing."""

    def details(self) -> list[dict[str, object]]:
        raise NotImplementedError


class UnavailableError(Exception):
    """A service that cannot answer now (busy, or past its time limit), though the request was fine: a 503 whose
    message says so. Subclassed where the limit lives (insights.services.chart_pool), so this layer imports
    nothing."""


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn service and DRF errors into {"message", "details"} responses."""
    if isinstance(exc, DetailedInputError):
        return Response(
            {"message": str(exc), "details": exc.details()},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, UnavailableError):
        return Response({"message": str(exc), "details": None}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": "10"})
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        response.data = {"message": str(data["detail"]), "details": None}
    else:
        response.data = {"message": _first_error(data), "details": data}
    return response


def _first_error(data: Any) -> str:
    """A one-line summary of a validation error: the first field and its first message."""
    if isinstance(data, dict) and data:
        field, errors = next(iter(data.items()))
        first = errors[0] if isinstance(errors, list) and errors else errors
        prefix = "" if field in ("non_field_errors", "detail") else f"{field}: "
        return f"{prefix}{_first_error(first) if isinstance(first, (dict, list)) else first}"
    if isinstance(data, list) and data:
        return _first_error(data[0]) if isinstance(data[0], (dict, list)) else str(data[0])
    return "the request is not valid"
