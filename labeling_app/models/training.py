from django.conf import settings
from django.db import models

from labeling_app.models.jobs import JobRun
from labeling_app.models.projects import Project
from labeling_app.models.responses import Response
from labeling_app.models.themes import Theme


class ModelVersion(JobRun):
    """One retrain of a project's classifier: its figures, and whether it became current."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    # A version is made by the retrain that claims the project's slot: it starts running, never pending.
    JOB_PENDING = None
    JOB_RUNNING = Status.TRAINING
    JOB_SUCCEEDED = Status.READY
    JOB_FAILED = Status.FAILED

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    labels_revision = models.PositiveIntegerField(default=0)
    labelled_responses = models.PositiveIntegerField(default=0)
    labels_used = models.PositiveIntegerField(default=0)
    micro_f1 = models.FloatField(null=True, blank=True)
    macro_f1 = models.FloatField(null=True, blank=True)
    # The estimate's uncertainty: {"micro": [low, high], "macro": [low, high], "level": 0.9, "rows": n}.
    quality_interval = models.JSONField(default=dict, blank=True)
    per_theme = models.JSONField(default=list, blank=True)
    artifact = models.CharField(max_length=500, blank=True)
    # Every response's probability for every theme, as one float16 (n, k) matrix with the response ids
    # (int64, ascending) and theme ids of its rows and columns: one row per version, not n x k rows.
    response_ids = models.BinaryField(default=b"")
    probabilities = models.BinaryField(default=b"")
    theme_ids = models.JSONField(default=list, blank=True)
    thresholds = models.JSONField(default=list, blank=True)
    made_current_at = models.DateTimeField(null=True, blank=True)
    train_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="model_version_number_unique"),
            # The database guard: one run in flight per project, whatever Celery redelivers.
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(status="training"), name="one_training_run_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number} ({self.status})"

    @property
    def error(self) -> str:
        """Why the run failed (the job's `message`; the name the API and pages have always shown)."""
        return self.message if self.status == self.Status.FAILED else ""


class SuggestionRejection(models.Model):
    """An analyst said a suggested theme does not apply; it is not offered to them again."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "theme", "user"], name="one_rejection_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} rejected {self.theme_id} for {self.response_id}"


class LabelQueue(models.Model):
    """The project's active-learning order: most useful responses to label first."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="label_queue")
    response_ids = models.JSONField(default=list)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    strategy = models.CharField(max_length=40, blank=True)
    built_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"queue of {self.project_id} ({len(self.response_ids)})"


class QueueLease(models.Model):
    """A response served to one analyst; others are not served it until it is coded or the lease ends."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="leases")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    skipped = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "user"], name="one_lease_per_user")]
        indexes = [models.Index(fields=["project", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.response_id} held by {self.user_id}"
