from django.conf import settings
from django.db import models
from django.db.models import Q

from ml.active_learning import DEFAULT_STRATEGY, STRATEGIES


class Role(models.TextChoices):
    """A member's role; each role can do everything the ones below it can."""

    ANALYST = "analyst", "Analyst"
    LEAD = "lead", "Lead"
    ADMIN = "admin", "Admin"

    @classmethod
    def rank(cls, role: str) -> int:
        return [cls.ANALYST, cls.LEAD, cls.ADMIN].index(cls(role))


class Project(models.Model):
    """One survey question, its responses and its own theme set."""

    # Unique per owner (see Meta), not globally: a global rule would tell anyone creating a project which names
    # other teams use.
    name = models.CharField(max_length=200)
    question = models.TextField(blank=True)
    labeling_batch_size = models.PositiveSmallIntegerField(default=10)
    active_learning_strategy = models.CharField(
        max_length=40, default=DEFAULT_STRATEGY, choices=[(s, s.replace("_", " ")) for s in STRATEGIES]
    )
    # Blind double coding: this share of responses is coded by `overlap_coders` analysts each.
    overlap_share = models.FloatField(default=0.0)
    overlap_coders = models.PositiveSmallIntegerField(default=2)
    # Which way the survey's numeric score runs (NHS FFT: 1 = very good, so lower is better): insights read a
    # driver as making the outcome better or worse through it.
    score_higher_is_better = models.BooleanField(default=True)
    # Sentiment coded beside the themes: 0 = not coded, 5 levels (the NHS scale: 1 = very positive ... 5 = very
    # negative) or 3 (1 positive, 2 neutral, 3 negative).
    sentiment_levels = models.PositiveSmallIntegerField(default=0, choices=[(0, "not coded"), (3, "3 levels"),
                                                                            (5, "5 levels")])
    # Bumped by every labeling change; a model version remembers the revision it was trained on.
    labels_revision = models.PositiveIntegerField(default=0)
    current_model = models.ForeignKey(
        "labeling_app.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The owner: the user who created it (None for projects made by commands and the demo).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "name"], name="project_name_unique_per_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ANALYST)
    # Whether this member takes part in blind double coding (overlap items are served to them).
    codes_overlap = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]
        ordering = ["project", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"


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


class Invitation(models.Model):
    """An admin's offer of a role in a project; the invitee becomes a member only by accepting it.

    The username is kept as typed, and `invitee` is set only when it names an active user then: an invitation
    to an unknown name is stored and listed like any other, so admins cannot tell from the outside which
    usernames exist (it simply never reaches anyone).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    username = models.CharField(max_length=150)
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ANALYST)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)  # accepted, declined or revoked

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "username"], condition=Q(status="pending"),
                                    name="one_pending_invitation_per_user"),
        ]
        indexes = [models.Index(fields=["invitee", "status"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} as {self.role} in {self.project} ({self.status})"
