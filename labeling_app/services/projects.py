from django.contrib.auth.models import User
from django.db import transaction

from labeling_app.models import Membership, Project, Role


@transaction.atomic
def project_create(*, user: User, name: str, question: str = "", **settings: object) -> Project:
    """Create a project; its creator becomes its first admin."""
    project = Project.objects.create(name=name.strip(), question=question.strip(), created_by=user, **settings)
    Membership.objects.create(project=project, user=user, role=Role.ADMIN)
    return project


def project_update(*, project: Project, **fields: object) -> Project:
    """Change a project's name, question or settings."""
    for name, value in fields.items():
        setattr(project, name, value.strip() if isinstance(value, str) else value)
    project.full_clean()
    project.save(update_fields=list(fields))
    return project
