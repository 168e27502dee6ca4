from django.conf import settings
from django.db import models

from labeling_app.projects.models import Response
from labeling_app.themes.models import Theme


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
