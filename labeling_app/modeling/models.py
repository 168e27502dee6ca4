from django.db import models

from labeling_app.jobs.models import JobRun
from labeling_app.projects.models import Project, Response


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
    # The auto-code gate's correction of error probabilities on confident rows, measured on this version's
    # out-of-fold predictions (ml.autocode.fit_gate_correction): {fp_scale, fn_scale, rows}; {} = none.
    gate_correction = models.JSONField(default=dict, blank=True)
    # Human-coded responses whose codes this version's out-of-fold probabilities most disagree with, most
    # suspect first (ml.label_review): [{response, score, model: [theme ids the model would give]}].
    label_issues = models.JSONField(default=list, blank=True)
    # The sentiment head (ml.sentiment), trained in the same retrain on the same features: every response's
    # probability of each level, float16 (n, levels) in the rows of `response_ids`; b"" = no head this version.
    sentiment_probabilities = models.BinaryField(default=b"")
    # Its out-of-fold accuracy and macro-F1 on the responses people gave a sentiment: {accuracy, macro_f1, rows}.
    sentiment_quality = models.JSONField(default=dict, blank=True)
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


class ResponseEmbedding(models.Model):
    """A response's sentence embedding (float32 bytes), tagged with the text and model it came from."""

    response = models.OneToOneField(Response, primary_key=True, on_delete=models.CASCADE, related_name="embedding")
    model_name = models.CharField(max_length=300)
    text_hash = models.CharField(max_length=64)
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Covers the embedding store's fingerprint (count, sum of ids, latest created_at per model): an
        # index-only scan instead of reading every 1.5 kB vector row.
        indexes = [models.Index(fields=["response", "model_name", "created_at"], name="embedding_fingerprint")]

    def __str__(self) -> str:
        return f"embedding of {self.response_id}"


class EmbeddingRun(JobRun):
    """One pass that embeds a project's new or changed responses.

    As a job (services.job_runs) it is the planning step: claimed, beaten and swept like every job until its
    chunks exist; from then on each chunk is a job of its own, and the chunk that ends last finishes the run.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Embedding"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="embedding_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    embedded = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"embedding run {self.pk} of {self.project_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return 100 * self.embedded // self.total if self.total else 0


class EmbeddingChunk(JobRun):
    """One slice of an embedding run (responses first_response_id..last_response_id), run by one Celery task.

    A run is split into chunks so several workers embed it at once; the run's progress is the sum of its
    chunks', a chunk that fails is retried alone, and the chunk that finishes last finishes the run. Each chunk
    is a job (services.job_runs): one claim, one heartbeat, one stale rule, one failure record.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Embedding"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(EmbeddingRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_response_id = models.BigIntegerField()
    last_response_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    worker = models.CharField(max_length=255, blank=True)  # the Celery worker that ran it last
    total = models.PositiveIntegerField(default=0)
    embedded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="embedding_chunk_unique_index")]

    def __str__(self) -> str:
        return f"chunk {self.index} of embedding run {self.run_id} ({self.status})"


class ZeroShotSuggestions(models.Model):
    """Suggestions from the theme names and descriptions alone (cosine similarity of each response to each theme's
    text, `ml.zero_shot`), for a project with no coded response yet: the Label page suggests from the first
    response. Rebuilt when a retrain finds nothing to learn from; the first model version takes over."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="zero_shot")
    response_ids = models.BinaryField(default=b"")
    probabilities = models.BinaryField(default=b"")
    theme_ids = models.JSONField(default=list, blank=True)
    threshold = models.FloatField(default=1.0)
    built_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"zero-shot suggestions of {self.project_id}"
