"""What the DEBUG error page may show of the settings."""
import re

from django.views.debug import SafeExceptionReporterFilter


class SettingsHidingFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding broker, cache and database addresses (they may carry passwords)."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|REDIS|BROKER|LOCATION|DATABASE", flags=re.IGNORECASE
    )
