from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

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
