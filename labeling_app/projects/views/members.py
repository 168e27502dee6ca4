from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from labeling_app.core.http.params import choice_param, required_id
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from labeling_app.projects.forms import InvitationForm
from labeling_app.projects.models import Role
from labeling_app.projects.selectors.invitations import invitation_get_for_invitee, invitations_pending_for_project
from labeling_app.projects.services.invitations import (
    INVITATION_SENT,
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_revoke,
)
from labeling_app.projects.services.members import member_change_role, member_remove


@login_required
def member_list(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Admins invite people, revoke pending invitations, change roles and remove members."""
    membership = page_membership(request, project_id, Role.ADMIN)
    project = membership.project
    action = request.POST.get("action")
    form = InvitationForm(request.POST if action == "invite" else None)
    if request.method == "POST":
        try:
            if action == "invite":
                if form.is_valid():
                    invitation_create(project=project, invited_by=request.user, **form.cleaned_data)
                    # Worded the same for every username: the page must not tell which ones exist.
                    messages.success(request, f"{form.cleaned_data['username']}: {INVITATION_SENT}.")
                    return redirect("member-list", project_id=project.pk)
            elif action == "revoke":
                pending = invitations_pending_for_project(project=project)
                invitation_revoke(invitation=get_object_or_404(pending, pk=required_id(request.POST, "invitation_id")))
                messages.success(request, "Invitation revoked.")
                return redirect("member-list", project_id=project.pk)
            else:
                member = get_object_or_404(project.memberships, pk=required_id(request.POST, "member_id"))
                if action == "remove":
                    member_remove(membership=member)
                else:
                    member_change_role(membership=member, role=request.POST.get("role", ""))
                messages.success(request, "Members updated.")
                return redirect("member-list", project_id=project.pk)
        except (ValidationError, ValueError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    context = {"project": project, "membership": membership, "form": form, "roles": Role.choices,
               "members": project.memberships.select_related("user"),
               "invitations": invitations_pending_for_project(project=project), **role_flags(membership)}
    return render(request, "labeling_app/projects/members.html", context)


@login_required
@require_POST
def invitation_respond(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    """The invitee accepts (and lands on the project) or declines one of their invitations; 404 for others."""
    invitation = invitation_get_for_invitee(user=request.user, invitation_id=invitation_id)
    answer = choice_param(request.POST, "action", {"accept", "decline"}, default="")
    try:
        if answer == "accept":
            membership = invitation_accept(invitation=invitation, user=request.user)
            messages.success(request, f"You joined {invitation.project.name} as {membership.get_role_display()}.")
            return redirect("project-overview", project_id=membership.project_id)
        invitation_decline(invitation=invitation, user=request.user)
        messages.success(request, f"Invitation to {invitation.project.name} declined.")
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("project-list")
