"""Reading the audit trail (admins only; access is checked by the views)."""
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from labeling_app.audit.models import AuditEvent

if TYPE_CHECKING:  # the audit log sits below the projects it records (ARCHITECTURE.md)
    from labeling_app.projects.models import Project


def audit_events(*, project: "Project", action: str | None = None,
                 target_type: str | None = None) -> QuerySet[AuditEvent]:
    """The project's changes, newest first, optionally of one action or kind of target."""
    events = AuditEvent.objects.filter(project=project)
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    return events.order_by("-created_at", "-id")


def audit_change_lines(*, before: Any, after: Any) -> list[str]:
    """An event's before and after as lines a person reads, one per key: "overlap share: 0% → 50%" where a value
    changed, "coder: ana" where it stayed, "role: analyst (before)" for what a removal took away. Lists are
    joined, shares are percentages, yes/no for flags; values that are not a mapping make one line."""
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before is None and after is None:
            return []
        if before is None:
            return [_value("", after)]
        if after is None:
            return [f"{_value('', before)} (before)"]
        return [f"{_value('', before)} → {_value('', after)}"]
    was = before if isinstance(before, dict) else {} if before is None else {"value": before}
    now = after if isinstance(after, dict) else {} if after is None else {"value": after}
    lines = []
    for key in [*was, *(k for k in now if k not in was)]:
        label = str(key).replace("_", " ")
        if key in was and key in now:
            old, new = _value(key, was[key]), _value(key, now[key])
            lines.append(f"{label}: {old}" if old == new else f"{label}: {old} → {new}")
        elif key in now:
            lines.append(f"{label}: {_value(key, now[key])}" if before is None
                         else f"{label}: none → {_value(key, now[key])}")
        else:
            lines.append(f"{label}: {_value(key, was[key])} (before)" if after is None
                         else f"{label}: {_value(key, was[key])} → none")
    return lines


def _value(key: object, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and str(key).endswith("share"):
        percent = float(value) * 100
        return f"{percent:.0f}%" if percent == round(percent) else f"{percent:.1f}%"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(_value("", v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_value(k, v)}" for k, v in value.items()) or "none"
    text = str(value)
    return text if text.strip() else "(empty)"
