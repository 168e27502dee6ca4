from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from labeling_app.core.http.params import id_param, required_id
from labeling_app.importing.codeframes.services import MAX_CODEFRAME_BYTES, codeframe_import
from labeling_app.importing.errors import ImportFileError
from labeling_app.labeling.services.annotations import annotations_add_theme
from labeling_app.labeling.services.theme_recode import theme_merge, theme_split
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from labeling_app.projects.models import Role
from labeling_app.projects.selectors.projects import projects_for_user
from labeling_app.themes.forms import ThemeForm
from labeling_app.themes.selectors import nets_of_project
from labeling_app.themes.services.themes import theme_create, theme_set_copy, theme_update


@login_required
def theme_editor(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Admins add, edit and archive the project's themes."""
    membership = page_membership(request, project_id, Role.ADMIN)
    project = membership.project
    new_form = ThemeForm(initial={"colour": "#4c78a8"}, prefix="new")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "merge":
                source = get_object_or_404(project.themes, pk=required_id(request.POST, "source"))
                target = get_object_or_404(project.themes, pk=required_id(request.POST, "target"))
                theme_merge(project=project, source=source, target=target, user=request.user)
                messages.success(request, f"Merged “{source.name}” (code {source.code}) into “{target.name}” "
                                          f"(code {target.code}).")
                return redirect("theme-editor", project_id=project.pk)
            if action == "split":
                theme = get_object_or_404(project.themes, pk=required_id(request.POST, "theme"))
                made = theme_split(project=project, theme=theme, names=request.POST.get("names", "").split(","),
                                   user=request.user)
                messages.success(request, f"Split “{theme.name}” into {', '.join(t.name for t in made)}; "
                                          "its responses are first in the labeling queue.")
                return redirect("theme-editor", project_id=project.pk)
            if action == "copy":
                source_project = page_membership(request, required_id(request.POST, "from_project")).project
                made = theme_set_copy(source=source_project, target=project)
                messages.success(request, f"Copied {len(made)} themes from “{source_project.name}”.")
                return redirect("theme-editor", project_id=project.pk)
            if action == "codeframe":
                upload = request.FILES.get("codeframe")
                if upload is None or (upload.size or 0) > MAX_CODEFRAME_BYTES:
                    raise ValidationError(f"choose a codeframe file (CSV or XLSX, at most {MAX_CODEFRAME_BYTES:,} "
                                          "bytes)")
                done = codeframe_import(project=project, data=upload.read(), filename=upload.name or "")
                messages.success(request, f"Codeframe imported: {done['created']} codes added, "
                                          f"{done['updated']} updated.")
                return redirect("theme-editor", project_id=project.pk)
            if action == "create":
                new_form = ThemeForm(request.POST, prefix="new")
                if new_form.is_valid():
                    data = {k: v for k, v in new_form.cleaned_data.items() if k != "order"}
                    theme = theme_create(project=project, **data)
                    messages.success(request, f"Added theme “{theme.name}” (code {theme.code}).")
                    source_id = id_param(request.POST, "from_response")
                    answer = project.responses.filter(pk=source_id).first() if source_id else None
                    if answer is not None:  # "new theme?" of a new wave: the answer that asked for it is coded
                        annotations_add_theme(project=project, user=request.user, response_ids=[answer.pk],
                                              theme_id=theme.pk)
                        return redirect(reverse("similar", args=[project.pk]) + f"?response={answer.pk}")
                    return redirect("theme-editor", project_id=project.pk)
            else:
                theme = get_object_or_404(project.themes, pk=required_id(request.POST, "theme_id"))
                if action in ("archive", "restore"):
                    theme_update(theme=theme, archived=action == "archive")
                    messages.success(request, f"{action.capitalize()}d “{theme.name}”.")
                    return redirect("theme-editor", project_id=project.pk)
                form = ThemeForm(request.POST, prefix=f"t{theme.pk}")
                if form.is_valid():
                    fields = {k: v for k, v in form.cleaned_data.items() if v is not None}
                    theme_update(theme=theme, **fields)
                    messages.success(request, f"Saved “{theme.name}”.")
                    return redirect("theme-editor", project_id=project.pk)
                for field_errors in form.errors.as_data().values():
                    messages.error(request, "; ".join(e.messages[0] for e in field_errors))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except ImportFileError as exc:
            for error in exc.errors[:20]:
                messages.error(request, str(error))
    themes = [(t, ThemeForm(instance=t, prefix=f"t{t.pk}")) for t in project.themes.all()]
    context = {"project": project, "membership": membership, "themes": themes, "new_form": new_form,
               "live": project.themes.filter(archived=False), "nets": nets_of_project(project=project),
               "templates": projects_for_user(user=request.user).exclude(pk=project.pk),
               **role_flags(membership)}
    return render(request, "labeling_app/themes/theme_editor.html", context)
