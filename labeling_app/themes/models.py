from django.db import models

from labeling_app.projects.models import Project


class Net(models.Model):
    """A group of a project's codes (the codeframe's upper level). A net is not a code: nobody codes a response
    with it; a respondent is in a net when they have any of its codes. Its number, like a code's, never changes."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="nets")
    name = models.CharField(max_length=120)
    code = models.PositiveIntegerField()
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="net_name_unique_in_project"),
            models.UniqueConstraint(fields=["project", "code"], name="net_code_unique_in_project"),
        ]

    def __str__(self) -> str:
        return self.name


class Theme(models.Model):
    """A code of a project's theme set. Annotations point at rows, never at names. `code` is the code's number
    in the codeframe: given once, never reused or changed (tabulation keys on it wave after wave)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="themes")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    colour = models.CharField(max_length=7, default="#4c78a8")
    shortcut = models.CharField(max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    code = models.PositiveIntegerField(blank=True)
    net = models.ForeignKey(Net, on_delete=models.PROTECT, null=True, blank=True, related_name="themes")
    # Where an archived code's respondents went: the code numbers of a merge's target or a split's new codes
    # ("7", "46;47"), as tabulation needs to carry old waves over.
    replaced_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="theme_name_unique_in_project"),
            models.UniqueConstraint(fields=["project", "code"], name="theme_code_unique_in_project"),
            models.UniqueConstraint(
                fields=["project", "shortcut"],
                condition=~models.Q(shortcut="") & models.Q(archived=False),
                name="theme_shortcut_unique_in_project",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        # A theme made without a number (fixtures, the admin, scripts) takes the project's next one; services give
        # numbers themselves under the project's lock.
        if self.code is None:
            last = Theme.objects.filter(project_id=self.project_id).aggregate(m=models.Max("code"))["m"]
            self.code = (last or 0) + 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]
