from django.contrib.auth.models import User
from django.db import transaction

from labeling_app.models import Membership, Project, Role
from labeling_app.services.audit import acting_as, audit_record


@transaction.atomic
def project_create(*, user: User, name: str, question: str = "", **settings: object) -> Project:
    """Create a project; its creator becomes its first admin."""
    project = Project.objects.create(name=name.strip(), question=question.strip(), created_by=user, **settings)
    Membership.objects.create(project=project, user=user, role=Role.ADMIN)
    with acting_as(user):
        audit_record(project=project, action="project.create", target_type="project", target_id=project.pk,
                     summary=project.name, after={"name": project.name, "question": project.question})
    return project


def project_update(*, project: Project, **fields: object) -> Project:
    """Change a project's name, question or settings."""
    # Before from the database: a bound ModelForm has already written the new values onto the instance.
    stored = Project.objects.filter(pk=project.pk).values(*fields).first() or {}
    before = {name: _plain(stored.get(name)) for name in fields}
    for name, value in fields.items():
        setattr(project, name, value.strip() if isinstance(value, str) else value)
    project.full_clean()
    project.save(update_fields=list(fields))
    after = {name: _plain(getattr(project, name)) for name in fields}
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        audit_record(project=project, action="project.settings", target_type="project", target_id=project.pk,
                     summary=", ".join(changed), before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
    return project


def _plain(value: object) -> object:
    # What JSON can hold: settings are text, numbers, flags and the odd decimal.
    return value if value is None or isinstance(value, (str, int, float, bool, list, dict)) else str(value)
