"""ThemeLoop: the Django project and app in one package."""
from labeling_app.celery import app as celery_app

__all__ = ["celery_app"]
