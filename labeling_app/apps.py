from django.apps import AppConfig


class LabelingAppConfig(AppConfig):
    name = "labeling_app"
    verbose_name = "ThemeLoop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register `<id:…>` before any URLconf is read (ids past 64 bits are a 404, not an OverflowError), and
        the signal receivers that remove a deleted project's or run's files."""
        from django.urls import register_converter

        from labeling_app import signals  # noqa: F401  (connects the receivers; lost in the move to packages)
        from labeling_app.core.http.params import IdConverter

        register_converter(IdConverter, "id")
