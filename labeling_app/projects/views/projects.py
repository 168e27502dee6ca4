from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from labeling_app.importing.forms import ImportForm
from labeling_app.labeling.selectors.counts import project_counts, project_list_with_counts
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from labeling_app.projects.forms import ProjectForm, ProjectSettingsForm
from labeling_app.projects.models import Role
from labeling_app.projects.selectors.invitations import invitations_pending_for_user
from labeling_app.projects.services.projects import project_create, project_update
from labeling_app.review.forms import OverlapForm
from labeling_app.review.selectors.autocode_check import autocode_statement
from labeling_app.review.services.adjudication import overlap_configure


@login_required
def project_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("project-overview", project_id=project.pk)
    projects = project_list_with_counts(user=request.user).order_by("name")
    invitations = invitations_pending_for_user(user=request.user)
    return render(request, "labeling_app/projects/project_list.html",
                  {"projects": projects, "invitations": invitations, "form": form})


@login_required
def project_overview(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    membership = page_membership(request, project_id)
    project = membership.project
    counts = project_counts(project=project)
    context = {
        "project": project,
        "membership": membership,
        "counts": counts,
        "autocode_line": autocode_statement(project=project, human_coded=counts["coded_responses"]),
        "themes": project.themes.filter(archived=False),
        "imports": project.import_jobs.select_related("uploaded_by")[:5],
        "import_form": ImportForm(),
        "embedding_run": project.embedding_runs.first(),
        **role_flags(membership),
    }
    return render(request, "labeling_app/projects/project_overview.html", context)


@login_required
def project_settings(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Admins change the project's name, question, batch size, active-learning strategy and blind overlap."""
    membership = page_membership(request, project_id, Role.ADMIN)
    project = membership.project
    posted = request.POST if request.method == "POST" else None
    form = ProjectSettingsForm(posted if posted and "overlap" not in posted else None, instance=project)
    members = project.memberships.select_related("user").order_by("user__username")
    overlap = OverlapForm(
        posted if posted and "overlap" in posted else None, members=[(m.user_id, m.user.username) for m in members],
        initial={"percent": round(project.overlap_share * 100, 2), "coders": project.overlap_coders,
                 "participants": [str(m.user_id) for m in members if m.codes_overlap]},
    )
    if posted and "overlap" in posted and overlap.is_valid():
        count = overlap_configure(project=project, share=overlap.cleaned_data["percent"] / 100,
                                  coders=overlap.cleaned_data["coders"],
                                  participant_ids=[int(p) for p in overlap.cleaned_data["participants"]])
        messages.success(request, f"{count} responses are coded blind by {project.overlap_coders} analysts each.")
        return redirect("project-settings", project_id=project.pk)
    if posted and "overlap" not in posted and form.is_valid():
        try:
            project_update(project=project, **{f: form.cleaned_data[f] for f in form.changed_data})
        except ValidationError as exc:  # a name its owner already uses
            form.add_error(None, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("project-settings", project_id=project.pk)
    overlap_items = project.responses.filter(is_overlap=True).count()
    return render(request, "labeling_app/projects/settings.html",
                  {"project": project, "membership": membership, "form": form, "overlap": overlap,
                   "overlap_items": overlap_items, **role_flags(membership)})
