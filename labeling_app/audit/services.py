"""The audit trail: every change of labels, themes, membership and settings, with who made it.

Services record what they change (`audit_record`); who is acting comes from the request (set where pages and
project-scoped API views check the member's role, `page_membership` and `ProjectScopedMixin`) through a context
variable, so services need no extra
argument and a change made by a worker or a command is recorded as the system's.
"""
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.signals import request_finished, request_started

from labeling_app.audit.models import AuditEvent
from labeling_app.core.db import rows_insert

if TYPE_CHECKING:  # the audit log sits below the projects it records (ARCHITECTURE.md)
    from labeling_app.projects.models import Project

_actor: ContextVar[AbstractBaseUser | None] = ContextVar("themeloop_audit_actor", default=None)


def audit_actor_set(user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Who the changes made from here on in this request (context) are attributed to (a lazy user is fine: it
    is only looked at when a change is recorded)."""
    _actor.set(user)  # type: ignore[arg-type]


def audit_actor_get() -> AbstractBaseUser | None:
    """The signed-in user changes are attributed to now (None: the system, or an anonymous request)."""
    actor = _actor.get()
    return actor if actor is not None and actor.is_authenticated else None


def _forget_actor(**_: Any) -> None:
    # A thread that serves one request after another (WSGI) must not lend one request's user to the next.
    _actor.set(None)


request_started.connect(_forget_actor, dispatch_uid="themeloop-audit-request-started")
request_finished.connect(_forget_actor, dispatch_uid="themeloop-audit-request-finished")


@contextmanager
def acting_as(user: AbstractBaseUser | None) -> Iterator[None]:
    """Attribute the changes made inside the block to `user` (commands, tests)."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


@dataclass(frozen=True)
class Change:
    """One change to record (see `audit_record_many`)."""

    action: str
    target_type: str
    target_id: object
    summary: str = ""
    before: Any = None
    after: Any = None


def audit_record_many(*, project: "Project | int", changes: Sequence[Change]) -> None:
    """Record several changes of one project by the current actor, in one insert."""
    actor = _actor.get()
    if actor is not None and not actor.is_authenticated:
        actor = None
    project_id = project if isinstance(project, int) else project.pk
    # Plain rows (every label batch records one a response): the ORM's bulk_create prepared each field of each
    # instance again, a few ms of a submit's Python; the statements are the same, 1,000 rows at most each (as
    # before: PostgreSQL bounds a statement's parameters).
    template = AuditEvent(project_id=project_id, actor_id=actor.pk if actor else None,
                          actor_name=actor.get_username() if actor else "")
    rows = [(c.action, c.target_type, str(c.target_id or ""), c.summary[:300], c.before, c.after) for c in changes]
    for start in range(0, len(rows), 1000):
        rows_insert(template, ("action", "target_type", "target_id", "summary", "before", "after"),
                    rows[start:start + 1000])


def audit_record(*, project: "Project | int", action: str, target_type: str, target_id: object = "",
                 summary: str = "", before: Any = None, after: Any = None) -> None:
    """Record one change of a project by the current actor."""
    audit_record_many(project=project, changes=[Change(action, target_type, target_id, summary, before, after)])
