from django.conf import settings
from django.db import models

from labeling_app.projects.models import Project, Response
from labeling_app.themes.models import Theme


class QuotePin(models.Model):
    """A response an analyst chose as a quote for a theme in the insights and reports."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quote_pins")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="quote_pins")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="quote_pins")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["theme", "response"], name="quote_pin_unique")]

    def __str__(self) -> str:
        return f"pin {self.theme_id}:{self.response_id}"
