from django.conf import settings
from django.db import models

from labeling_app.projects.models import Project, Response
from labeling_app.themes.models import Theme


class Annotation(models.Model):
    """One coder's set of themes for one response at one moment.

    A change never edits a row: it adds a new current row and marks the old one
    superseded, so the full history of who coded what, and when, is kept.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "Coded by hand"
        IMPORT = "import", "Imported"
        SUGGESTION = "suggestion", "Accepted suggestion"

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="annotations")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    # Who made this version: the coder, or an admin whose theme merge or split rewrote the coder's labels.
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    themes = models.ManyToManyField(Theme, blank=True, related_name="annotations")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    is_current = models.BooleanField(default=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    flagged = models.BooleanField(default=False)
    # The coder's sentiment of the response, 1 .. project.sentiment_levels (1 = most positive); None = not given.
    sentiment = models.PositiveSmallIntegerField(null=True, blank=True)
    # Set when a theme this annotation had was split: the response is offered again to be re-coded,
    # and the annotation does not train the model meanwhile.
    needs_recoding = models.BooleanField(default=False)
    # False when the coder added one theme in bulk (suggestions, clusters, map, "more like this") without
    # considering the others: the response stays in the queue until someone codes it whole.
    is_complete = models.BooleanField(default=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "coder"],
                condition=models.Q(is_current=True),
                name="one_current_annotation_per_coder",
            )
        ]
        indexes = [models.Index(fields=["response", "is_current"])]

    def __str__(self) -> str:
        return f"{self.coder} on {self.response_id}"


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
    model_version = models.ForeignKey("labeling_app.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL)
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


class Adjudication(models.Model):
    """A lead's decision on a response the coders disagree on: the final themes, or back to the coders.

    The current "resolve" row is the response's consensus; older rows stay as history.
    """

    class Kind(models.TextChoices):
        RESOLVE = "resolve", "Resolved"
        SEND_BACK = "send_back", "Sent back to the coders"

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="adjudications")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RESOLVE)
    themes = models.ManyToManyField(Theme, blank=True, related_name="adjudications")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(blank=True)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["response"], condition=models.Q(is_current=True),
                                    name="one_current_adjudication_per_response")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.response_id} by {self.decided_by_id}"


class AutoCoding(models.Model):
    """An admin's or lead's decision to let the model code the responses it is sure of, at a target micro-F1.

    Its codes (AutoCode) are the model's, kept apart from every human coding: they never train the model, never
    count as a coder, and a human coding of the same response always wins. While it is active (not undone) each
    promoted model version decides again which uncoded responses it codes, at the same target.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="auto_codings")
    target = models.FloatField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The version whose decisions the current codes are, what it claimed for them and how many it coded.
    model_version = models.ForeignKey("labeling_app.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    model_number = models.PositiveIntegerField(default=0)
    claimed_f1 = models.FloatField(null=True, blank=True)
    claimed_interval = models.JSONField(default=list, blank=True)
    coded = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The blind check: its size, when it was drawn and what the gate claimed then (later versions re-decide).
    qc_size = models.PositiveIntegerField(default=0)
    qc_drawn_at = models.DateTimeField(null=True, blank=True)
    qc_claimed_f1 = models.FloatField(null=True, blank=True)
    qc_claimed_interval = models.JSONField(default=list, blank=True)
    qc_model_number = models.PositiveIntegerField(default=0)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=models.Q(undone_at__isnull=True),
                                    name="one_active_auto_coding_per_project")
        ]

    def __str__(self) -> str:
        return f"auto-coding of {self.project_id} at {self.target}"


class AutoCode(models.Model):
    """The model's themes for one response of an auto-coding (an empty list: the model says no theme applies).

    ``in_qc``: drawn into the blind check; analysts code it without seeing these themes, and it stays as drawn
    (later versions do not re-decide it) so the check measures what was claimed.
    """

    auto_coding = models.ForeignKey(AutoCoding, on_delete=models.CASCADE, related_name="codes")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="auto_codes")
    theme_ids = models.JSONField(default=list)
    confidence = models.FloatField(default=0.0)
    model_number = models.PositiveIntegerField(default=0)
    in_qc = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["auto_coding", "response"], name="one_auto_code_per_response")]
        indexes = [models.Index(fields=["response"])]

    def __str__(self) -> str:
        return f"model's code of {self.response_id}"


class LabelCheck(models.Model):
    """A lead's answer to a "Check labels" flag: the response's codes were looked at and confirmed (or fixed, by
    coding it again); it is not flagged again until it is coded differently."""

    class Decision(models.TextChoices):
        CONFIRMED = "confirmed", "Codes confirmed"
        FIXED = "fixed", "Codes fixed"

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="label_checks")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["response", "created_at"])]

    def __str__(self) -> str:
        return f"{self.decision} {self.response_id}"
