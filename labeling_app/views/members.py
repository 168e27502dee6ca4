from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from labeling_app.api.params import required_id
from labeling_app.forms import MemberForm
from labeling_app.models import Role
from labeling_app.services.members import member_add, member_change_role, member_remove
from labeling_app.views.access import AuthenticatedHttpRequest, page_membership, role_flags


@login_required
def member_list(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Admins add members, change roles and remove members."""
    membership = page_membership(request, project_id, Role.ADMIN)
    project = membership.project
    form = MemberForm(request.POST or None if request.POST.get("action") == "add" else None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "add":
                if form.is_valid():
                    member_add(project=project, **form.cleaned_data)
                    messages.success(request, f"Added {form.cleaned_data['username']}.")
                    return redirect("member-list", project_id=project.pk)
            else:
                member = get_object_or_404(project.memberships, pk=required_id(request.POST, "member_id"))
                if request.POST.get("action") == "remove":
                    member_remove(membership=member)
                else:
                    member_change_role(membership=member, role=request.POST.get("role", ""))
                messages.success(request, "Members updated.")
                return redirect("member-list", project_id=project.pk)
        except (ValidationError, ValueError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    context = {"project": project, "membership": membership, "form": form, "roles": Role.choices,
               "members": project.memberships.select_related("user"), **role_flags(membership)}
    return render(request, "labeling_app/members.html", context)
