"""403 and 404 for pages in the site's layout; under /api/ the API's one JSON error shape instead."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: a page that says the role is too low (API views answer through DRF's handler)."""
    if _is_api(request):
        return JsonResponse({"message": "You do not have permission to perform this action.", "details": None},
                            status=403)
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a page with a way back; the exception's text is not shown (it could name a model or id)."""
    if _is_api(request):
        return JsonResponse({"message": "Not found.", "details": None}, status=404)
    return render(request, "404.html", status=404)
