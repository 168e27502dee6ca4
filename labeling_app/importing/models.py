from django.conf import settings
from django.db import models

from labeling_app.jobs.models import JobRun
from labeling_app.projects.models import Project


class ImportJob(JobRun):
    """An uploaded file and the state of its all-or-nothing import."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Importing"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    # When the uploaded file was deleted for good (IMPORT_UPLOAD_RETENTION_HOURS); the job's counts stay.
    file_purged_at = models.DateTimeField(null=True, blank=True)
    original_name = models.CharField(max_length=255)
    # A new wave of the same question: every response this file adds gets this value in its `wave` column
    # (kept as metadata, so Insights compare waves like any segment); a file's own `wave` column wins.
    wave = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    responses_created = models.PositiveIntegerField(default=0)
    themes_created = models.PositiveIntegerField(default=0)
    themes_in_file = models.PositiveIntegerField(default=0)
    labels_created = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} → {self.project} ({self.status})"

    @property
    def summary(self) -> str:
        return (
            f"imported {self.responses_created} responses, {self.themes_in_file} themes, "
            f"{self.labels_created} labels"
        )
