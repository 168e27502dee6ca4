from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labeling_app.audit.services import acting_as, audit_actor_get, audit_record
from labeling_app.projects.models import Project, Role
from labeling_app.projects.services.members import member_add_without_invitation
from labeling_app.projects.services.training_requests import training_inputs_changed


def _check_name_free(*, owner: User | None, name: str, caller: AbstractBaseUser | None,
                     exclude_pk: int | None = None) -> None:
    # Names are unique per owner: the check (and its message) looks only at the owner's projects, so it tells
    # nobody what other teams call theirs.
    if owner is None:
        return
    same = Project.objects.filter(created_by=owner, name=name)
    if (same.exclude(pk=exclude_pk) if exclude_pk is not None else same).exists():
        whose = "you already have" if caller is not None and caller.pk == owner.pk else "its owner already has"
        raise ValidationError({"name": f"{whose} a project named {name!r}"})


@transaction.atomic
def project_create(*, user: User, name: str, question: str = "", **settings: object) -> Project:
    """Create a project owned by `user`, who becomes its first admin; names are unique per owner."""
    name = name.strip()
    _check_name_free(owner=user, name=name, caller=user)
    try:
        with transaction.atomic():  # a savepoint: two requests racing for one name meet the constraint
            project = Project.objects.create(name=name, question=question.strip(), created_by=user, **settings)
    except IntegrityError:
        raise ValidationError({"name": f"you already have a project named {name!r}"}) from None
    with acting_as(user):
        audit_record(project=project, action="project.create", target_type="project", target_id=project.pk,
                     summary=project.name, after={"name": project.name, "question": project.question})
        member_add_without_invitation(project=project, user=user, role=Role.ADMIN)
    return project


def project_update(*, project: Project, **fields: object) -> Project:
    """Change a project's name, question or settings; a new name must be free among its owner's projects."""
    # Before from the database: a bound ModelForm has already written the new values onto the instance.
    stored = Project.objects.filter(pk=project.pk).values(*fields).first() or {}
    before = {name: _plain(stored.get(name)) for name in fields}
    for name, value in fields.items():
        setattr(project, name, value.strip() if isinstance(value, str) else value)
    if "name" in fields:
        _check_name_free(owner=project.created_by, name=project.name, caller=audit_actor_get(),
                         exclude_pk=project.pk)
    project.full_clean()
    project.save(update_fields=list(fields))
    after = {name: _plain(getattr(project, name)) for name in fields}
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        audit_record(project=project, action="project.settings", target_type="project", target_id=project.pk,
                     summary=", ".join(changed), before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
    if "sentiment_levels" in changed:
        training_inputs_changed(project=project)  # the sentiment head comes or goes with the next version
    return project


def _plain(value: object) -> object:
    # What JSON can hold: settings are text, numbers, flags and the odd decimal.
    return value if value is None or isinstance(value, (str, int, float, bool, list, dict)) else str(value)
