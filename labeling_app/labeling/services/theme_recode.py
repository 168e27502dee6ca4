"""Merging and splitting themes recodes the codings that carry them: the old versions stay as history, the new
ones carry the new themes (a split sends its responses to the front of the queue to be coded again)."""
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.audit.services import audit_record
from labeling_app.labeling.models import Annotation, LabelQueue
from labeling_app.projects.models import Project
from labeling_app.projects.services.training_requests import training_inputs_changed
from labeling_app.themes.models import Theme
from labeling_app.themes.services.themes import theme_create


@transaction.atomic
def theme_merge(*, project: Project, source: Theme, target: Theme, user: User | None = None) -> Theme:
    """Merge `source` into `target`: every current label of source moves to target as a new annotation
    version (the old versions stay as history), and source is archived."""
    if source.pk == target.pk or source.project_id != project.pk or target.project_id != project.pk:
        raise ValidationError("choose two different themes of this project")
    if target.archived:
        raise ValidationError("the surviving theme is archived; restore it first")
    current = list(Annotation.objects.select_for_update().filter(
        response__project=project, is_current=True, themes=source).prefetch_related("themes"))
    Annotation.objects.filter(pk__in=[a.pk for a in current]).update(is_current=False)
    for old in current:
        new = Annotation.objects.create(response_id=old.response_id, coder_id=old.coder_id, source=old.source,
                                        sentiment=old.sentiment,
                                        flagged=old.flagged, note=old.note, supersedes=old,
                                        is_complete=old.is_complete, changed_by=user)
        new.themes.set({t.pk for t in old.themes.all() if t.pk != source.pk} | {target.pk})
    source.archived, source.shortcut, source.replaced_by = True, "", str(target.code)
    source.description = (f"Merged into “{target.name}” (code {target.code}). " + source.description).strip()
    source.save(update_fields=["archived", "shortcut", "description", "replaced_by"])
    audit_record(project=project, action="theme.merge", target_type="theme", target_id=source.pk,
                 summary=f"“{source.name}” (code {source.code}) into “{target.name}” (code {target.code}); "
                         f"{len(current)} labels moved",
                 before={"theme": source.name, "code": source.code, "labels": len(current)},
                 after={"theme": target.name, "code": target.code})
    training_inputs_changed(project=project)
    return target


def ids_to_front_move(ids: list[int], front: list[int]) -> list[int]:
    """`front`, then the rest of `ids` in their order. Linear: the set of `front` is built once (built inside
    the comprehension, as it once was, it was rebuilt per id: quadratic in the project's size)."""
    first = set(front)
    return list(front) + [i for i in ids if i not in first]


@transaction.atomic
def theme_split(*, project: Project, theme: Theme, names: list[str], user: User | None = None) -> list[Theme]:
    """Split a theme into new ones: it is archived, its labels are taken off (history kept), and its
    responses go to the front of the labeling queue to be coded with the new themes."""
    names = [" ".join(n.split()) for n in names if n.strip()]
    if len({n.casefold() for n in names}) < 2:
        raise ValidationError("give at least two different names for the new themes")
    if theme.archived:
        raise ValidationError("that theme is archived already")
    made = [theme_create(project=project, name=name, net=theme.net) for name in names]
    note = f"“{theme.name}” was split into {', '.join(t.name for t in made)}: code it again."
    current = list(Annotation.objects.select_for_update().filter(
        response__project=project, is_current=True, themes=theme).prefetch_related("themes"))
    Annotation.objects.filter(pk__in=[a.pk for a in current]).update(is_current=False)
    # In bulk: three queries per affected annotation grew with the project (a common theme: thousands).
    made_annotations = Annotation.objects.bulk_create(
        [Annotation(response_id=old.response_id, coder_id=old.coder_id, source=old.source, flagged=old.flagged,
                    sentiment=old.sentiment,
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
    theme.archived, theme.shortcut, theme.replaced_by = True, "", ";".join(str(t.code) for t in made)
    named = ", ".join(f"{t.name} (code {t.code})" for t in made)
    theme.description = (f"Split into {named}. " + theme.description).strip()
    theme.save(update_fields=["archived", "shortcut", "description", "replaced_by"])
    audit_record(project=project, action="theme.split", target_type="theme", target_id=theme.pk,
                 summary=f"“{theme.name}” (code {theme.code}) into {named} ({len(affected)} responses to recode)",
                 before={"theme": theme.name, "code": theme.code, "responses": len(affected)},
                 after={"themes": [t.name for t in made], "codes": [t.code for t in made]})
    training_inputs_changed(project=project)
    return made
