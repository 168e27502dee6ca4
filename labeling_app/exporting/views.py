"""The PDF report from the pages: a member asks for it (htmx), the partial polls the row until the worker has
printed it, then offers the download (the API's file URL, with the page's session)."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from labeling_app.exporting.api import codeframe_response
from labeling_app.exporting.models import ReportExport
from labeling_app.exporting.selectors import report_export_ready, report_exports_of_project
from labeling_app.exporting.services import report_export_request
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership

PROGRESS = "labeling_app/exporting/partials/report_progress.html"


def _progress(request: AuthenticatedHttpRequest, job: ReportExport) -> HttpResponse:
    download = reverse("api-report-export-file", args=[job.project_id, job.pk]) if report_export_ready(job=job) \
        else None
    return render(request, PROGRESS, {"job": job, "project": job.project, "download_url": download})


@login_required
@require_POST
def report_request(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Asks a worker for the PDF report under the posted filters; answers with its progress, which polls."""
    membership = page_membership(request, project_id)
    params = {key: values for key, values in request.POST.lists() if key != "csrfmiddlewaretoken"}
    try:
        job = report_export_request(project=membership.project, user=request.user, params=params)
    except ValidationError as exc:
        return render(request, "labeling_app/exporting/partials/report_error.html",
                      {"message": " ".join(exc.messages)}, status=400)
    return _progress(request, job)


@login_required
def report_progress(request: AuthenticatedHttpRequest, project_id: int, report_id: int) -> HttpResponse:
    membership = page_membership(request, project_id)
    return _progress(request, get_object_or_404(report_exports_of_project(project=membership.project), pk=report_id))


@login_required
def codeframe_download(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The codeframe file from the Themes page (any member may read it)."""
    membership = page_membership(request, project_id)
    try:
        return codeframe_response(project=membership.project, fmt=request.GET.get("format", "xlsx"))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
