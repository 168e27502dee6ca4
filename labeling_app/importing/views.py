from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from labeling_app.core.progress import progress_get
from labeling_app.importing.errors import ImportFileError
from labeling_app.importing.forms import ImportForm
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_job_create
from labeling_app.labeling.selectors.counts import project_counts
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership
from labeling_app.projects.models import Role


def _progress(job: ImportJob) -> int:
    return job.progress if job.is_finished else progress_get(kind="import", job_id=job.pk)


def _progress_context(job: ImportJob) -> dict:
    # A finished import also carries the project's fresh counts, swapped into the overview page.
    counts = project_counts(project=job.project) if job.status == ImportJob.Status.SUCCEEDED else None
    return {"job": job, "progress": _progress(job), "project": job.project, "counts": counts}


@login_required
@require_POST
def import_upload(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Takes the upload and answers with a progress bar that polls until the import ends."""
    membership = page_membership(request, project_id, Role.ADMIN)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "labeling_app/importing/partials/import_error.html",
                      {"message": "choose a CSV or XLSX file to upload", "errors": []}, status=400)
    try:
        job = import_job_create(project=membership.project, user=request.user, upload=form.cleaned_data["file"],
                                wave=form.cleaned_data.get("wave") or "")
    except ImportFileError as exc:
        return render(request, "labeling_app/importing/partials/import_error.html",
                      {"message": str(exc), "errors": [e.as_dict() for e in exc.errors]}, status=400)
    return render(request, "labeling_app/importing/partials/import_progress.html", _progress_context(job))


@login_required
def import_progress(request: AuthenticatedHttpRequest, project_id: int, import_id: int) -> HttpResponse:
    membership = page_membership(request, project_id, Role.ADMIN)
    job = get_object_or_404(membership.project.import_jobs, pk=import_id)
    return render(request, "labeling_app/importing/partials/import_progress.html", _progress_context(job))


@login_required
def embedding_progress(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The latest embedding run of the project, as a progress bar that polls until it ends."""
    membership = page_membership(request, project_id)
    run = membership.project.embedding_runs.first()
    return render(request, "labeling_app/importing/partials/embedding_progress.html",
                  {"run": run, "project": membership.project})
