from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling_app.models.projects import Project, Role


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
