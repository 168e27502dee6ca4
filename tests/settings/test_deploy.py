"""Production settings: no development key by accident, `check --deploy` clean, no credentials on error pages."""
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from labeling_app.core.debug import SettingsHidingFilter

# The production environment: none of the development or test switches (the root conftest allows async-unsafe).
ENV = {k: v for k, v in os.environ.items()
       if k not in ("SECRET_KEY", "THEMELOOP_DEV", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**ENV, **env},
                          capture_output=True, text=True)


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_a_false_dev_flag_does_not_give_a_development_key(value):
    result = _manage("check", THEMELOOP_DEV=value)
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_in_production_settings():
    key = secrets.token_urlsafe(60)
    result = _manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=key, THEMELOOP_HTTPS="1",
                     ALLOWED_HOSTS="themeloop.example.org")
    assert result.returncode == 0, result.stdout + result.stderr
    # Without the HTTPS switch the same settings are not fit to deploy.
    plain = _manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=key,
                    ALLOWED_HOSTS="themeloop.example.org")
    assert plain.returncode != 0 and "W004" in plain.stderr + plain.stdout


def test_the_debug_error_page_hides_broker_cache_and_database_addresses():
    shown = SettingsHidingFilter().get_safe_settings()
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CACHES", "DATABASES", "SECRET_KEY"):
        assert settings.REDIS_URL not in str(shown[name]), name
    assert shown["REDIS_URL"] == SettingsHidingFilter.cleansed_substitute
