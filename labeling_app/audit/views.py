"""The audit page: the project's changes for its admins, newest first, a page at a time."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from labeling_app.audit.selectors import audit_change_lines, audit_events
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from labeling_app.projects.models import Role

PER_PAGE = 100


@login_required
def audit_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Who changed what and when, with the values before and after (admins only)."""
    membership = page_membership(request, project_id, Role.ADMIN)
    action = request.GET.get("action") or None
    page = Paginator(audit_events(project=membership.project, action=action), PER_PAGE).get_page(
        request.GET.get("page"))
    rows = [(event, audit_change_lines(before=event.before, after=event.after)) for event in page]
    return render(request, "labeling_app/audit/audit.html", {
        "project": membership.project, "membership": membership, "page": page, "rows": rows, "action": action,
        **role_flags(membership)})
