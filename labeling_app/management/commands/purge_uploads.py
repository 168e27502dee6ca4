from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from labeling_app.importing.services import import_uploads_prune


class Command(BaseCommand):
    help = ("Delete uploaded import files older than IMPORT_UPLOAD_RETENTION_HOURS after their import finished "
            "(the hourly Celery task does the same; for cron where no beat runs).")

    def handle(self, *args: Any, **options: Any) -> None:
        purged = import_uploads_prune()
        self.stdout.write(f"purged {purged} upload(s) kept longer than {settings.IMPORT_UPLOAD_RETENTION_HOURS:g} h")
