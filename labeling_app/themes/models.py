from django.db import models

from labeling_app.projects.models import Project


class Theme(models.Model):
    """A code of a project's theme set. Annotations point at rows, never at names."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="themes")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    colour = models.CharField(max_length=7, default="#4c78a8")
    shortcut = models.CharField(max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="theme_name_unique_in_project"),
            models.UniqueConstraint(
                fields=["project", "shortcut"],
                condition=~models.Q(shortcut="") & models.Q(archived=False),
                name="theme_shortcut_unique_in_project",
            ),
        ]

    def __str__(self) -> str:
        return self.name
