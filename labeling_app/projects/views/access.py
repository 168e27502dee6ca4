from django.contrib.auth.models import User
from django.http import HttpRequest

from labeling_app.audit.services import audit_actor_set
from labeling_app.projects.models import Membership, Role
from labeling_app.projects.selectors.projects import project_get_for_role


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
