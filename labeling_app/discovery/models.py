from django.conf import settings
from django.db import models

from labeling_app.jobs.models import JobRun
from labeling_app.projects.models import Project, Response
from labeling_app.themes.models import Theme


class DiscoveryRun(JobRun):
    """One clustering of a project's responses, kept with its settings so runs can be compared."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Clustering"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="discovery_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    n_clusters = models.PositiveIntegerField(null=True, blank=True)
    min_cluster_size = models.PositiveIntegerField(null=True, blank=True)
    seed = models.PositiveIntegerField(default=0)
    # The map: response ids (int64) and their 2-D positions (float32, n x 2), in one row.
    response_ids = models.BinaryField(default=b"")
    layout = models.BinaryField(default=b"")
    seconds = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"discovery run {self.pk} of {self.project_id} ({self.status})"


class MapLayout(JobRun):
    """The job that lays out a finished discovery run's map (its 2-D positions, stored on the run).

    A job of its own (services.job_runs: one claim, one heartbeat, one stale rule, one failure record) because it
    runs after the run has succeeded: the clusters are shown while the map is still being laid out. Its key is
    the run's, so the task takes the run's id.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Laying out"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    run = models.OneToOneField(DiscoveryRun, on_delete=models.CASCADE, primary_key=True, related_name="map_layout")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)

    def __str__(self) -> str:
        return f"map layout of discovery run {self.pk} ({self.status})"


class Cluster(models.Model):
    """A group of similar responses; merged, split or undone clusters stay as inactive history."""

    run = models.ForeignKey(DiscoveryRun, on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(max_length=200)
    keywords = models.JSONField(default=list, blank=True)
    phrases = models.JSONField(default=list, blank=True)
    representative_ids = models.JSONField(default=list, blank=True)
    size = models.PositiveIntegerField(default=0)
    is_outliers = models.BooleanField(default=False)
    dismissed = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="clusters")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-size", "id"]

    def __str__(self) -> str:
        return self.name


class ClusterAssignment(models.Model):
    """Which cluster of a run a response is in (one per response and run)."""

    run = models.ForeignKey(DiscoveryRun, on_delete=models.CASCADE, related_name="assignments")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="cluster_assignments")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="assignments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "response"], name="one_cluster_per_response_and_run")]
        indexes = [models.Index(fields=["cluster"])]

    def __str__(self) -> str:
        return f"{self.response_id} in {self.cluster_id}"


class ClusterAction(models.Model):
    """One analyst action on a run's clusters, with what it changed, so it can be undone."""

    class Kind(models.TextChoices):
        MERGE = "merge", "Merge"
        SPLIT = "split", "Split"
        RENAME = "rename", "Rename"
        DISMISS = "dismiss", "Dismiss"
        MOVE = "move", "Move responses"
        MAKE_THEME = "make_theme", "Make theme"

    run = models.ForeignKey(DiscoveryRun, on_delete=models.CASCADE, related_name="actions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    summary = models.CharField(max_length=300)
    before = models.JSONField(default=dict)  # clusters' fields and assignments as they were
    created = models.JSONField(default=dict)  # ids this action made (clusters, theme, annotations)
    undone = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.summary
