from django.conf import settings
from django.db import models

from labeling_app.core.media_files import report_folder_name
from labeling_app.jobs.models import JobRun
from labeling_app.projects.models import Project


def report_file_path(job: "ReportExport", filename: str) -> str:
    """Under the project's reports folder, which goes with the project (core.media_files.project_folders_get)."""
    return f"{report_folder_name(job.project_id)}/{filename}"


class ReportExport(JobRun):
    """The client report as a PDF, asked for by a member and printed by a worker (exporting.services); its file is
    kept REPORT_RETENTION_HOURS, the row stays."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Printing"
        SUCCEEDED = "succeeded", "Ready"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="report_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The insights filters and the report's view options, each a list of strings as in a query string
    # (exporting.services.REPORT_PARAMS): the worker reads them as the export API reads its parameters.
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=report_file_path, blank=True, max_length=255)
    size = models.PositiveIntegerField(default=0)  # bytes of the PDF
    # When the PDF was deleted for good (REPORT_RETENTION_HOURS after it was printed).
    file_purged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"report of {self.project} ({self.status})"
