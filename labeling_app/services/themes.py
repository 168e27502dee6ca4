from django.db import transaction
from django.db.models import Max

from labeling_app.models import Project, Theme

PALETTE = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b",
    "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#1f77b4", "#d62728",
]
SHORTCUT_KEYS = "1234567890qwertyuiopasdfghjklzxcvbnm"


def _free_shortcut(project: Project) -> str:
    used = set(project.themes.filter(archived=False).values_list("shortcut", flat=True))
    return next((k for k in SHORTCUT_KEYS if k not in used), "")


@transaction.atomic
def theme_create(*, project: Project, name: str, description: str = "", colour: str = "",
                 shortcut: str | None = None) -> Theme:
    """Add a theme at the end of the project's theme set, with a free colour and shortcut if none given."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    order = (project.themes.aggregate(m=Max("order"))["m"] or 0) + 1
    theme = Theme(
        project=project,
        name=" ".join(name.split()),
        description=description,
        colour=colour or PALETTE[(order - 1) % len(PALETTE)],
        shortcut=_free_shortcut(project) if shortcut is None else shortcut,
        order=order,
    )
    theme.full_clean()
    theme.save()
    return theme


def theme_update(*, theme: Theme, **fields: object) -> Theme:
    """Rename, describe, recolour, re-key, reorder or archive a theme; labels keep pointing at it."""
    for name, value in fields.items():
        setattr(theme, name, value)
    if fields.get("archived"):
        theme.shortcut = ""  # frees the key for live themes
    theme.full_clean()
    theme.save()
    return theme


@transaction.atomic
def themes_reorder(*, project: Project, theme_ids: list[int]) -> None:
    """Put the project's themes in the given order; themes not listed keep their place after them."""
    themes = {t.pk: t for t in project.themes.select_for_update()}
    ordered = [themes[i] for i in theme_ids if i in themes] + [
        t for i, t in themes.items() if i not in set(theme_ids)
    ]
    for position, theme in enumerate(ordered, start=1):
        theme.order = position
    Theme.objects.bulk_update(ordered, ["order"])
