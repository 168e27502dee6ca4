"""The Celery application; settings come from Django's settings under the CELERY_ prefix."""
import os

from celery import Celery

from labeling_app.jobs.registry import TASK_PACKAGES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")

app = Celery("labeling_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(list(TASK_PACKAGES))  # each package's `tasks` module; task names are fixed in the registry
