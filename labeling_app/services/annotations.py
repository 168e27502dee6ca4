"""Submitting labels: check everything first, then write every item in one transaction, or none."""
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.models import Annotation, Project, QueueLease
from labeling_app.services.training import training_inputs_changed


@dataclass
class AnnotationItem:
    response_id: int
    theme_ids: list[int] = field(default_factory=list)
    flagged: bool = False
    note: str = ""
    # False for a theme added in bulk without looking at the response's other themes (see Annotation).
    complete: bool = True


def annotation_items_check(*, project: Project, items: list[AnnotationItem]) -> None:
    """Every response and theme must belong to the project, themes must be live, no response twice."""
    if not items:
        raise ValidationError("nothing to submit")
    errors = []
    responses = set(project.responses.filter(pk__in=[i.response_id for i in items]).values_list("pk", flat=True))
    live = set(project.themes.filter(archived=False).values_list("pk", flat=True))
    seen: set[int] = set()
    for n, item in enumerate(items):
        if item.response_id not in responses:
            errors.append(f"item {n}: response {item.response_id} is not in this project")
        if item.response_id in seen:
            errors.append(f"item {n}: response {item.response_id} appears twice")
        seen.add(item.response_id)
        unknown = [t for t in item.theme_ids if t not in live]
        if unknown:
            errors.append(f"item {n}: themes {unknown} are not live themes of this project")
    if errors:
        raise ValidationError(errors)


def annotation_submit(*, project: Project, user: User, items: list[AnnotationItem],
                      source: str = Annotation.Source.MANUAL) -> list[Annotation]:
    """Save one analyst's labels for several responses and ask for one retrain; all or nothing."""
    annotation_items_check(project=project, items=items)
    with transaction.atomic():
        return _annotations_write(project=project, user=user, items=items, source=source)


def _annotations_write(*, project: Project, user: User, items: list[AnnotationItem], source: str) -> list[Annotation]:
    response_ids = [i.response_id for i in items]
    previous = {
        a.response_id: a
        for a in Annotation.objects.select_for_update().filter(
            response_id__in=response_ids, coder=user, is_current=True
        )
    }
    Annotation.objects.filter(pk__in=[a.pk for a in previous.values()]).update(is_current=False)
    made = []
    for item in items:
        annotation = Annotation.objects.create(
            response_id=item.response_id, coder=user, source=source, flagged=item.flagged,
            note=item.note, supersedes=previous.get(item.response_id), is_complete=item.complete, changed_by=user,
        )
        annotation.themes.set(sorted(set(item.theme_ids)))
        made.append(annotation)
    QueueLease.objects.filter(user=user, response_id__in=[i.response_id for i in items if i.complete]).delete()
    training_inputs_changed(project=project)
    return made


def annotations_add_theme(*, project: Project, user: User, response_ids: list[int], theme_id: int,
                          source: str = Annotation.Source.MANUAL) -> list[Annotation]:
    """Add one theme to the user's current labels of several responses (bulk accept, clusters, map, similar).

    A response the user had coded whole stays coded; any other stays in the queue for full coding.
    """
    if not response_ids:
        return []
    mine = {
        a.response_id: a
        for a in Annotation.objects.filter(response_id__in=response_ids, coder=user, is_current=True)
        .prefetch_related("themes")
    }
    items = []
    for r in sorted(set(response_ids)):
        before = mine.get(r)
        themes = {t.pk for t in before.themes.all()} if before else set()
        complete = before is not None and before.is_complete and not before.needs_recoding
        items.append(AnnotationItem(r, sorted(themes | {theme_id}), complete=complete))
    return annotation_submit(project=project, user=user, items=items, source=source)
