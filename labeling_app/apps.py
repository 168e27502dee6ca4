from django.apps import AppConfig


class LabelingAppConfig(AppConfig):
    name = "labeling_app"
    verbose_name = "ThemeLoop"
    default_auto_field = "django.db.models.BigAutoField"
