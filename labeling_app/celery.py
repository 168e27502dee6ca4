"""The Celery application; settings come from Django's settings under the CELERY_ prefix."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")

app = Celery("labeling_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["labeling_app"])
