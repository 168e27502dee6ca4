"""The demo project and one demo user per role, for `make run`."""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction

from labeling_app.models import ImportJob, Membership, Project, Role
from labeling_app.services.imports import import_file_run

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_PROJECT = "Why are you cancelling?"
DEMO_QUESTION = "Why are you cancelling your Loop Box subscription?"
DEMO_USERS = {  # username -> (role, password); demo-only credentials, printed by make run
    "demo-admin": (Role.ADMIN, "admin-loop-2026"),
    "demo-lead": (Role.LEAD, "lead-loop-2026"),
    "demo-analyst": (Role.ANALYST, "analyst-loop-2026"),
}


@transaction.atomic
def demo_users_ensure() -> dict[str, str]:
    """Create (or reset) the demo users; returns username -> password."""
    user_model = get_user_model()
    for username, (_, password) in DEMO_USERS.items():
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
    return {u: p for u, (_, p) in DEMO_USERS.items()}


def demo_project_load(*, name: str = DEMO_PROJECT, question: str = DEMO_QUESTION,
                      path: Path = DEMO_DIR / "cancelling.csv") -> tuple[Project, ImportJob | None]:
    """Create the demo project from a coded file once, and make each demo user a member."""
    demo_users_ensure()
    project, created = Project.objects.get_or_create(name=name, defaults={"question": question})
    job = None
    if created or not project.responses.exists():
        with path.open("rb") as fh:
            job = import_file_run(project=project, user=None, upload=File(fh, name=path.name))
        if job.status != ImportJob.Status.SUCCEEDED:
            raise RuntimeError(f"demo import failed: {job.message}")
    user_model = get_user_model()
    for username, (role, _) in DEMO_USERS.items():
        Membership.objects.update_or_create(
            project=project, user=user_model.objects.get(username=username), defaults={"role": role}
        )
    return project, job
