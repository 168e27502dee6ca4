import hashlib

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils.text import slugify

from labeling_app.projects.models import Project

IMPORTED_CODER_USERNAME = "imported"


def imported_coder_get() -> User:
    """The system user that imported labels are attributed to; it cannot log in."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=IMPORTED_CODER_USERNAME, defaults={"is_active": False, "first_name": "Imported"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def file_coder_get(*, project: Project, name: str) -> User:
    """The coder named `name` in an import file of `project`: an identity for attribution, not a login."""
    username = f"p{project.pk}-coder-{slugify(name)[:100] or 'x'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_active": False, "first_name": name[:150]}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user

