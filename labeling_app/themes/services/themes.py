from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from labeling_app.audit.services import audit_record
from labeling_app.projects.models import Project
from labeling_app.projects.services.training_requests import training_inputs_changed
from labeling_app.themes.models import Net, Theme

PALETTE = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b",
    "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#1f77b4", "#d62728",
]
SHORTCUT_KEYS = "1234567890qwertyuiopasdfghjklzxcvbnm"


def theme_shortcut_check(*, project_id: int, shortcut: str, theme_id: int | None = None) -> None:
    """Refuse a key that a live theme of the project already has, naming that theme (the database
    constraint would only say which constraint failed)."""
    if not shortcut:
        return
    holders = Theme.objects.filter(project_id=project_id, shortcut=shortcut, archived=False)
    holder = (holders.exclude(pk=theme_id) if theme_id is not None else holders).first()
    if holder is not None:
        raise ValidationError({"shortcut": f"the key “{shortcut}” is already used by the theme “{holder.name}”; "
                                           "choose another key or clear that theme's key first"})


def _free_shortcut(project: Project) -> str:
    used = set(project.themes.filter(archived=False).values_list("shortcut", flat=True))
    return next((k for k in SHORTCUT_KEYS if k not in used), "")


def theme_code_next(*, project: Project) -> int:
    """The next code number of the project: past every number ever given (themes are archived, never deleted,
    so a number is never given twice)."""
    return (Theme.objects.filter(project=project).aggregate(m=Max("code"))["m"] or 0) + 1


def net_code_next(*, project: Project) -> int:
    """The next net number of the project (nets have numbers of their own, as codeframes keep them)."""
    return (Net.objects.filter(project=project).aggregate(m=Max("code"))["m"] or 0) + 1


def net_ensure(*, project: Project, name: str, code: int | None = None) -> Net:
    """The project's net of that name (case and spacing aside), made at the end of its nets when new (with
    `code` when given and free, else the next number)."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"net": "a net needs a name"})
    found = Net.objects.filter(project=project, name__iexact=name).first()
    if found is not None:
        return found
    if code is None or Net.objects.filter(project=project, code=code).exists():
        code = net_code_next(project=project)
    order = (Net.objects.filter(project=project).aggregate(m=Max("order"))["m"] or 0) + 1
    net = Net(project=project, name=name, code=code, order=order)
    net.full_clean()
    net.save()
    audit_record(project=project, action="net.create", target_type="net", target_id=net.pk, summary=net.name,
                 after={"name": net.name, "code": net.code})
    return net


@transaction.atomic
def theme_create(*, project: Project, name: str, description: str = "", colour: str = "",
                 shortcut: str | None = None, net: Net | str | None = None, code: int | None = None) -> Theme:
    """Add a theme at the end of the project's theme set, with a free colour and shortcut if none given, under
    `net` (a Net or a net's name, made when new) and with `code` when given and free, else the next number."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    order = (project.themes.aggregate(m=Max("order"))["m"] or 0) + 1
    if isinstance(net, str):
        net = net_ensure(project=project, name=net) if net.strip() else None
    if code is None or Theme.objects.filter(project=project, code=code).exists():
        code = theme_code_next(project=project)
    theme = Theme(
        project=project,
        name=" ".join(name.split()),
        description=description,
        colour=colour or PALETTE[(order - 1) % len(PALETTE)],
        shortcut=_free_shortcut(project) if shortcut is None else shortcut,
        order=order,
        code=code,
        net=net,
    )
    theme_shortcut_check(project_id=project.pk, shortcut=theme.shortcut)
    theme.full_clean()
    theme.save()
    audit_record(project=project, action="theme.create", target_type="theme", target_id=theme.pk,
                 summary=theme.name, after=_theme_state(theme))
    training_inputs_changed(project=project)  # a new column for the model, even before its first label
    return theme


AUDITED_FIELDS = ("name", "description", "colour", "shortcut", "archived")


def _theme_state(theme: Theme) -> dict:
    state = {f: getattr(theme, f) for f in AUDITED_FIELDS}
    state["net"] = theme.net.name if theme.net is not None else ""
    return state


def theme_update(*, theme: Theme, **fields: object) -> Theme:
    """Rename, describe, recolour, re-key, reorder, put under a net (a Net, a net's name, or ""/None for none) or
    archive a theme; labels keep pointing at it. Its code number never changes."""
    was_archived = theme.archived
    stored = Theme.objects.filter(pk=theme.pk).values(*AUDITED_FIELDS, "net__name").first()
    if stored is not None:  # a bound form may have changed the instance already
        stored["net"] = stored.pop("net__name") or ""
    before = stored if stored is not None else _theme_state(theme)
    fields.pop("code", None)
    if "net" in fields:
        net = fields.pop("net")
        theme.net = net_ensure(project=theme.project, name=net) if isinstance(net, str) and net.strip() \
            else (net if isinstance(net, Net) else None)
    for name, value in fields.items():
        setattr(theme, name, value)
    if fields.get("archived"):
        theme.shortcut = ""  # frees the key for live themes
    if not theme.archived:
        theme_shortcut_check(project_id=theme.project_id, shortcut=theme.shortcut, theme_id=theme.pk)
    theme.full_clean()
    with transaction.atomic():
        theme.save()
        after = _theme_state(theme)
        if after != before:
            changed = {k for k in after if after[k] != before[k]}
            action = ("theme.archive" if theme.archived else "theme.restore") if "archived" in changed \
                else "theme.update"
            audit_record(project=theme.project_id, action=action, target_type="theme", target_id=theme.pk,
                         summary=theme.name, before={k: before[k] for k in sorted(changed)},
                         after={k: after[k] for k in sorted(changed)})
        if theme.archived != was_archived:
            training_inputs_changed(project=theme.project)  # the live theme set changed
    return theme


@transaction.atomic
def themes_reorder(*, project: Project, theme_ids: list[int]) -> None:
    """Put the project's themes in the given order; themes not listed keep their place after them."""
    themes = {t.pk: t for t in project.themes.select_for_update()}
    listed = set(theme_ids)  # once, not per theme: the comprehension below would make it quadratic
    ordered = [themes[i] for i in theme_ids if i in themes] + [t for i, t in themes.items() if i not in listed]
    for position, theme in enumerate(ordered, start=1):
        theme.order = position
    before = [t.name for t in sorted(themes.values(), key=lambda t: (t.order, t.pk))]
    Theme.objects.bulk_update(ordered, ["order"])
    after = [t.name for t in ordered]
    if after != before:
        audit_record(project=project, action="theme.reorder", target_type="theme set", before=before, after=after)


@transaction.atomic
def theme_set_copy(*, source: Project, target: Project) -> list[Theme]:
    """Copy a project's live themes (name, description, colour, order, net, code number where the target has it
    free) into another as a template; themes the target already has by name are left alone."""
    have = {t.name.casefold() for t in target.themes.all()}
    made = []
    for theme in source.themes.filter(archived=False).select_related("net").order_by("order", "pk"):
        if theme.name.casefold() not in have:
            net = net_ensure(project=target, name=theme.net.name, code=theme.net.code) if theme.net else None
            made.append(theme_create(project=target, name=theme.name, description=theme.description,
                                     colour=theme.colour, net=net, code=theme.code))
    return made
