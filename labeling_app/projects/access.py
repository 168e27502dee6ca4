"""Who may do what in a project, for pages and API views alike: every request resolves the user's membership with
the role it needs (outsiders get 404, members whose role is too low 403) and names the member as the actor the
audit log records."""
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request

from labeling_app.audit.services import audit_actor_set
from labeling_app.projects.models import Membership, Project, Role
from labeling_app.projects.selectors.projects import project_get_for_role

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ProjectScopedMixin:
    """Resolves `project_id` from the URL to a membership with the role this method needs.

    Outsiders get 404 for every method; members whose role is too low get 403.
    """

    read_role: str = Role.ANALYST
    write_role: str = Role.ADMIN
    kwargs: dict[str, Any]
    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        audit_actor_set(request.user)  # a token's user is known only now, after DRF authenticated it
        role = self.read_role if request.method in SAFE_METHODS else self.write_role
        self.membership = project_get_for_role(
            user=request.user, project_id=int(self.kwargs["project_id"]), role=role
        )

    @property
    def project(self) -> Project:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no request or membership; an unsaved project gives querysets their model.
            return Project(pk=0)
        return self.membership.project


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a login_required view: its user is signed in."""

    user: User


def page_membership(request: HttpRequest, project_id: int, role: str = Role.ANALYST) -> Membership:
    """The signed-in user's membership with at least `role`; 404 to outsiders, 403 to lower roles."""
    membership = project_get_for_role(user=request.user, project_id=project_id, role=role)
    audit_actor_set(request.user)  # the changes this page makes are this member's
    return membership


def role_flags(membership: Membership) -> dict[str, bool]:
    """What the page may offer this member."""
    rank = Role.rank(membership.role)
    return {"is_admin": rank >= Role.rank(Role.ADMIN), "is_lead": rank >= Role.rank(Role.LEAD)}
