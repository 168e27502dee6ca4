from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from labeling_app.audit.services import audit_record
from labeling_app.modeling.services.training_requests import training_inputs_changed
from labeling_app.projects.models import Project
from labeling_app.themes.models import Theme

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
    theme_shortcut_check(project_id=project.pk, shortcut=theme.shortcut)
    theme.full_clean()
    theme.save()
    audit_record(project=project, action="theme.create", target_type="theme", target_id=theme.pk,
                 summary=theme.name, after=_theme_state(theme))
    training_inputs_changed(project=project)  # a new column for the model, even before its first label
    return theme


AUDITED_FIELDS = ("name", "description", "colour", "shortcut", "archived")


def _theme_state(theme: Theme) -> dict:
    return {f: getattr(theme, f) for f in AUDITED_FIELDS}


def theme_update(*, theme: Theme, **fields: object) -> Theme:
    """Rename, describe, recolour, re-key, reorder or archive a theme; labels keep pointing at it."""
    was_archived = theme.archived
    stored = Theme.objects.filter(pk=theme.pk).values(*AUDITED_FIELDS).first()  # a bound form changed the instance
    before = stored if stored is not None else _theme_state(theme)
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
def theme_merge(*, project: Project, source: Theme, target: Theme, user: User | None = None) -> Theme:
    """Merge `source` into `target`: every current label of source moves to target as a new annotation
    version (the old versions stay as history), and source is archived."""
    from labeling_app.labeling.models import Annotation

    if source.pk == target.pk or source.project_id != project.pk or target.project_id != project.pk:
        raise ValidationError("choose two different themes of this project")
    if target.archived:
        raise ValidationError("the surviving theme is archived; restore it first")
    current = list(Annotation.objects.select_for_update().filter(
        response__project=project, is_current=True, themes=source).prefetch_related("themes"))
    Annotation.objects.filter(pk__in=[a.pk for a in current]).update(is_current=False)
    for old in current:
        new = Annotation.objects.create(response_id=old.response_id, coder_id=old.coder_id, source=old.source,
                                        flagged=old.flagged, note=old.note, supersedes=old,
                                        is_complete=old.is_complete, changed_by=user)
        new.themes.set({t.pk for t in old.themes.all() if t.pk != source.pk} | {target.pk})
    source.archived, source.shortcut = True, ""
    source.description = (f"Merged into “{target.name}”. " + source.description).strip()
    source.save(update_fields=["archived", "shortcut", "description"])
    audit_record(project=project, action="theme.merge", target_type="theme", target_id=source.pk,
                 summary=f"“{source.name}” into “{target.name}” ({len(current)} labels moved)",
                 before={"theme": source.name, "labels": len(current)}, after={"theme": target.name})
    training_inputs_changed(project=project)
    return target


@transaction.atomic
def theme_set_copy(*, source: Project, target: Project) -> list[Theme]:
    """Copy a project's live themes (name, description, colour, order) into another as a template;
    themes the target already has by name are left alone."""
    have = {t.name.casefold() for t in target.themes.all()}
    made = []
    for theme in source.themes.filter(archived=False).order_by("order", "pk"):
        if theme.name.casefold() not in have:
            made.append(theme_create(project=target, name=theme.name, description=theme.description,
                                     colour=theme.colour))
    return made


def ids_to_front_move(ids: list[int], front: list[int]) -> list[int]:
    """`front`, then the rest of `ids` in their order. Linear: the set of `front` is built once (built inside
    the comprehension, as it once was, it was rebuilt per id: quadratic in the project's size)."""
    first = set(front)
    return list(front) + [i for i in ids if i not in first]


@transaction.atomic
def theme_split(*, project: Project, theme: Theme, names: list[str], user: User | None = None) -> list[Theme]:
    """Split a theme into new ones: it is archived, its labels are taken off (history kept), and its
    responses go to the front of the labeling queue to be coded with the new themes."""
    from labeling_app.labeling.models import Annotation, LabelQueue

    names = [" ".join(n.split()) for n in names if n.strip()]
    if len({n.casefold() for n in names}) < 2:
        raise ValidationError("give at least two different names for the new themes")
    if theme.archived:
        raise ValidationError("that theme is archived already")
    made = [theme_create(project=project, name=name) for name in names]
    note = f"“{theme.name}” was split into {', '.join(t.name for t in made)}: code it again."
    current = list(Annotation.objects.select_for_update().filter(
        response__project=project, is_current=True, themes=theme).prefetch_related("themes"))
    Annotation.objects.filter(pk__in=[a.pk for a in current]).update(is_current=False)
    # In bulk: three queries per affected annotation grew with the project (a common theme: thousands).
    made_annotations = Annotation.objects.bulk_create(
        [Annotation(response_id=old.response_id, coder_id=old.coder_id, source=old.source, flagged=old.flagged,
                    note=note, supersedes=old, needs_recoding=True, is_complete=old.is_complete, changed_by=user)
         for old in current])
    through = Annotation.themes.through
    through.objects.bulk_create(
        [through(annotation_id=new.pk, theme_id=t.pk)
         for old, new in zip(current, made_annotations, strict=True) for t in old.themes.all() if t.pk != theme.pk],
        batch_size=5000)
    affected = sorted({a.response_id for a in current})
    queue = LabelQueue.objects.select_for_update().filter(project=project).first()
    if queue is not None:
        queue.response_ids = ids_to_front_move(queue.response_ids, affected)
        queue.save(update_fields=["response_ids", "built_at"])  # built_at: the queue caches the order by it
    else:
        LabelQueue.objects.create(project=project, response_ids=affected, strategy="split")
    theme.archived, theme.shortcut = True, ""
    theme.description = (f"Split into {', '.join(t.name for t in made)}. " + theme.description).strip()
    theme.save(update_fields=["archived", "shortcut", "description"])
    audit_record(project=project, action="theme.split", target_type="theme", target_id=theme.pk,
                 summary=f"“{theme.name}” into {', '.join(t.name for t in made)} ({len(affected)} responses to recode)",
                 before={"theme": theme.name, "responses": len(affected)}, after={"themes": [t.name for t in made]})
    training_inputs_changed(project=project)
    return made
