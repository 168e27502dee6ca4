"""400, 403, 404 and 500 for pages in the site's layout; under /api/ the API's one JSON error shape instead."""
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import server_error as page_server_error

from labeling_app.core.http.params import InvalidParam
from labeling_app.projects.access import role_flags
from labeling_app.projects.models import Role
from labeling_app.projects.selectors.projects import project_get_for_role


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: a parameter a page could not read (labeling_app.core.http.params.InvalidParam), said plainly."""
    reason = str(exception) if isinstance(exception, InvalidParam) else ""
    if _is_api(request):
        return JsonResponse({"message": reason or "Bad request.", "details": None}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: a page that says the role is too low (API views answer through DRF's handler)."""
    if _is_api(request):
        return JsonResponse({"message": "You do not have permission to perform this action.", "details": None},
                            status=403)
    context: dict = {"reason": str(exception or "")}
    project_id = request.resolver_match.kwargs.get("project_id") if request.resolver_match else None
    if project_id is not None:
        # Only members get a 403 (outsiders get 404), so the page may show the project's navigation.
        try:
            membership = project_get_for_role(user=request.user, project_id=project_id, role=Role.ANALYST)
        except Http404:
            pass
        else:
            context.update(project=membership.project, membership=membership, **role_flags(membership))
    return render(request, "403.html", context, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a page with a way back; the exception's text is not shown (it could name a model or id)."""
    if _is_api(request):
        return JsonResponse({"message": "Not found.", "details": None}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: under /api/ the API's JSON shape (a client reads `message`, never an HTML page); pages keep
    Django's plain 500 page (500.html when there is one), which renders without the database or a request
    context. The exception itself is logged by Django (django.request) with its traceback."""
    if _is_api(request):
        return JsonResponse({"message": "Server error: the request failed on our side; it has been logged.",
                             "details": None}, status=500)
    return page_server_error(request)
