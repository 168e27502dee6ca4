"""Submitting labels: check everything first, then write every item in one transaction, or none."""
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from labeling_app.audit.services import Change, audit_record_many
from labeling_app.core.db import ids_chunked, rows_delete, sql_marks, table_quoted, values_insert
from labeling_app.labeling.codings import coding_counts
from labeling_app.labeling.models import Annotation, QueueLease
from labeling_app.projects.models import Project, Response
from labeling_app.projects.services.training_requests import training_inputs_changed
from labeling_app.themes.models import Theme


@dataclass
class AnnotationItem:
    response_id: int
    theme_ids: list[int] = field(default_factory=list)
    flagged: bool = False
    note: str = ""
    # False for a theme added in bulk without looking at the response's other themes (see Annotation).
    complete: bool = True
    # The coder's sentiment, 1 .. project.sentiment_levels; None: not given.
    sentiment: int | None = None


def annotation_items_check(*, project: Project, items: list[AnnotationItem]) -> dict[int, str]:
    """Every response and theme must belong to the project, themes must be live, no response twice.

    Returns the names of the project's themes (archived too), read in the same query as the check.
    """
    if not items:
        raise ValidationError("nothing to submit")
    errors = []
    responses, themes = _responses_and_themes(project, [i.response_id for i in items])
    live = {pk for pk, _, archived in themes if not archived}
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
        if item.sentiment is not None and not 1 <= item.sentiment <= project.sentiment_levels:
            errors.append(f"item {n}: sentiment {item.sentiment} is not one of this project's levels "
                          + (f"(1 to {project.sentiment_levels})" if project.sentiment_levels
                             else "(it does not code sentiment)"))
    if errors:
        raise ValidationError(errors)
    return {pk: name for pk, name, _ in themes}


# The project's themes and which of the ids are its responses, in one statement (SQL: every submit runs it, and
# the ORM's two querysets cost more Python than the reads themselves). Themes first: their columns set the types.
_CHECK_SQL = ("SELECT 1, id, name, archived FROM {themes} WHERE project_id = %s UNION ALL "
              "SELECT 0, id, NULL, NULL FROM {responses} WHERE project_id = %s AND id IN ({ids})")
_RESPONSES_SQL = "SELECT id FROM {responses} WHERE project_id = %s AND id IN ({ids})"


def _responses_and_themes(project: Project, response_ids: list[int]) -> tuple[set[int], list[tuple[int, str, bool]]]:
    responses: set[int] = set()
    themes: list[tuple[int, str, bool]] = []
    tables = {"themes": table_quoted(Theme), "responses": table_quoted(Response)}
    with connection.cursor() as cursor:
        for n, chunk in enumerate(ids_chunked(sorted(set(response_ids)))):
            if n == 0:  # the themes once, with the first chunk of ids
                cursor.execute(_CHECK_SQL.format(ids=sql_marks(len(chunk)), **tables), [project.pk, project.pk, *chunk])
                for is_theme, pk, name, archived in cursor.fetchall():
                    if is_theme:
                        themes.append((pk, name, bool(archived)))
                    else:
                        responses.add(pk)
            else:
                cursor.execute(_RESPONSES_SQL.format(ids=sql_marks(len(chunk)), **tables), [project.pk, *chunk])
                responses.update(pk for (pk,) in cursor.fetchall())
    return responses, themes


def annotation_submit(*, project: Project, user: User, items: list[AnnotationItem],
                      source: str = Annotation.Source.MANUAL) -> list[Annotation]:
    """Save one analyst's labels for several responses and ask for one retrain; all or nothing."""
    names = annotation_items_check(project=project, items=items)
    with transaction.atomic():
        return _annotations_write(project=project, user=user, items=items, source=source, names=names)


def _annotations_write(*, project: Project, user: User, items: list[AnnotationItem], source: str,
                       names: dict[int, str]) -> list[Annotation]:
    # A fixed number of statements whatever the batch size (bulk inserts): a submit is one short transaction.
    response_ids = [i.response_id for i in items]
    previous = {
        a.response_id: a
        for a in Annotation.objects.select_for_update().filter(
            response_id__in=response_ids, coder=user, is_current=True
        )
    }
    if previous:
        Annotation.objects.filter(pk__in=[a.pk for a in previous.values()]).update(is_current=False)
    made = Annotation.objects.bulk_create([
        Annotation(response_id=item.response_id, coder=user, source=source, flagged=item.flagged, note=item.note,
                   supersedes=previous.get(item.response_id), is_complete=item.complete, changed_by=user,
                   sentiment=item.sentiment)
        for item in items
    ])
    # Two integer columns: plain rows, not a model instance each (COPY for a large batch: a bulk accept).
    through = Annotation.themes.through._meta
    column = {f.name: str(f.column) for f in through.concrete_fields}
    pairs = [(annotation.pk, theme_id) for annotation, item in zip(made, items, strict=True)
             for theme_id in sorted(set(item.theme_ids))]
    values_insert(through.db_table, [column["annotation"], column["theme"]], pairs, bulk=len(pairs) > 1000)
    rows_delete(QueueLease, [i.response_id for i in items if i.complete], field="response_id", user_id=user.pk)
    _labels_audit(project, user, items, previous, names)
    # Last: the project row stays locked by this update until the commit, and every submit updates it.
    training_inputs_changed(project=project)
    return made


def _labels_audit(project: Project, user: User, items: list[AnnotationItem], previous: dict[int, Annotation],
                  names: dict[int, str]) -> None:
    before: dict[int, set[int]] = {}
    for annotation_id, theme_id in Annotation.themes.through.objects.filter(
            annotation_id__in=[a.pk for a in previous.values()]).values_list("annotation_id", "theme_id"):
        before.setdefault(annotation_id, set()).add(theme_id)

    def state(theme_ids: set[int] | list[int], complete: bool, sentiment: int | None) -> dict:
        # A theme listed twice is linked once (see the insert above), and recorded once.
        out = {"coder": user.get_username(), "themes": sorted(names.get(t, str(t)) for t in set(theme_ids)),
               "complete": complete}
        if sentiment is not None:
            out["sentiment"] = sentiment
        return out

    changes = []
    for item in items:
        old = previous.get(item.response_id)
        was = state(before.get(old.pk, set()), old.is_complete, old.sentiment) if old else None
        now = state(item.theme_ids, item.complete, item.sentiment)
        if was != now:
            changes.append(Change("labels.change", "response", item.response_id,
                                  f"{user.get_username()}: {', '.join(now['themes']) or 'no theme'}", was, now))
    audit_record_many(project=project, changes=changes)


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
        complete = before is not None and coding_counts(before)
        items.append(AnnotationItem(r, sorted(themes | {theme_id}), complete=complete,
                                    sentiment=mine[r].sentiment if r in mine else None))
    return annotation_submit(project=project, user=user, items=items, source=source)
