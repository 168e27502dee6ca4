from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from labeling_app.models import Annotation, Project, Response, Theme


def responses_filter(
    *,
    project: Project,
    search: str = "",
    theme_id: int | None = None,
    uncoded: bool = False,
    flagged: bool = False,
    metadata: dict[str, str] | None = None,
) -> QuerySet[Response]:
    """A project's responses, filtered by text, coded theme, coding state, flag and metadata values.

    flagged: only responses whose current annotation (by anyone) is flagged for a second look.
    """
    qs = project.responses.all()
    if search:
        qs = qs.filter(Q(text__icontains=search) | Q(respondent_id__icontains=search))
    current = Annotation.objects.filter(response=OuterRef("pk"), is_current=True)
    if theme_id is not None:
        qs = qs.filter(Exists(current.filter(themes=theme_id)))
    if uncoded:
        qs = qs.exclude(Exists(current.filter(themes__isnull=False)))
    if flagged:
        qs = qs.filter(Exists(current.filter(flagged=True)))
    for n, (key, value) in enumerate((metadata or {}).items()):
        # The key is a literal JSON key, never part of a lookup path (`metadata__contains` would be a lookup).
        # Cast: a bare KeyTextTransform keeps JSONField's key lookups, which would read `value` as JSON.
        as_text = Cast(KeyTextTransform(key, "metadata"), output_field=TextField())
        qs = qs.alias(**{f"_meta_{n}": as_text}).filter(**{f"_meta_{n}": value})
    return qs.order_by("id")


def responses_with_themes(qs: QuerySet[Response]) -> QuerySet[Response]:
    """Prefetch each response's current annotations and their themes (no N+1 in lists)."""
    return qs.prefetch_related(
        Prefetch(
            "annotations",
            queryset=Annotation.objects.filter(is_current=True)
            .select_related("coder")
            .prefetch_related(Prefetch("themes", queryset=Theme.objects.order_by("order"))),
            to_attr="current_annotations",
        )
    )


def response_theme_list(response: Response) -> list[Theme]:
    """Distinct themes of a response's current annotations, from responses_with_themes' prefetch."""
    seen: dict[int, Theme] = {}
    for annotation in getattr(response, "current_annotations", []):
        for theme in annotation.themes.all():
            seen.setdefault(theme.pk, theme)
    return sorted(seen.values(), key=lambda t: (t.order, t.pk))


def metadata_keys(*, project: Project, sample: int = 200) -> list[str]:
    """Metadata columns present in the project's responses (from a sample, in file order)."""
    keys: dict[str, None] = {}
    for metadata in project.responses.values_list("metadata", flat=True)[:sample]:
        keys.update(dict.fromkeys(metadata or {}))
    return list(keys)


def response_flagged(response: Response) -> bool:
    """Whether any current annotation of the response is flagged, from responses_with_themes' prefetch."""
    return any(a.flagged for a in getattr(response, "current_annotations", []))


@dataclass(frozen=True)
class ResponseCoding:
    response: Response
    theme_ids: list[int]  # the user's current live themes for it, in theme order
    flagged: bool
    needs_recoding: bool = False  # sent back by a lead: the user is to code it again


def response_coding(*, project: Project, user: User, response_id: int) -> ResponseCoding | None:
    """One response of the project with the user's current labels, to re-open and correct it (None: not here)."""
    response = project.responses.filter(pk=response_id).first()
    if response is None:
        return None
    annotation = (Annotation.objects.filter(response=response, coder=user, is_current=True)
                  .prefetch_related("themes").first())
    if annotation is None:
        return ResponseCoding(response, [], False)
    # Archived themes cannot be submitted again; they drop out of a corrected coding.
    themes = sorted((t for t in annotation.themes.all() if not t.archived), key=lambda t: (t.order, t.pk))
    return ResponseCoding(response, [t.pk for t in themes], annotation.flagged, annotation.needs_recoding)


def responses_blind_for(*, project: Project, responses: list[Response], coder_id: int) -> None:
    """Blind double coding: on overlap items not resolved yet, keep only this coder's own current annotations
    (in the prefetch of `responses_with_themes`), so an analyst never sees another coder's themes there."""
    from labeling_app.selectors.consensus import overlap_open_ids

    open_ids = overlap_open_ids(project=project, response_ids=[r.pk for r in responses if r.is_overlap])
    for response in responses:
        if response.pk in open_ids:
            response.current_annotations = [  # type: ignore[attr-defined]
                a for a in getattr(response, "current_annotations", []) if a.coder_id == coder_id]
