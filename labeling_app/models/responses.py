from django.db import models

from labeling_app.models.projects import Project


class Response(models.Model):
    """One respondent's answer to the project's question, with the file's extra columns as metadata."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="responses")
    respondent_id = models.CharField(max_length=255)
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    import_job = models.ForeignKey(
        "labeling_app.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    # Chosen for blind double coding: served to several analysts, none sees the others' themes until resolved.
    is_overlap = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "respondent_id"], name="respondent_unique_in_project")
        ]
        # The embedding store's fingerprint joins a project's response ids with their embeddings: from the
        # indexes alone (an index-only scan), never the rows with their texts.
        indexes = [models.Index(fields=["project", "id"], name="response_project_id")]

    def __str__(self) -> str:
        return f"{self.respondent_id}: {self.text[:40]}"
