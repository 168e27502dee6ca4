from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from labeling_app.models import Annotation, Project, Response, Theme


def responses_filter(
    *,
    project: Project,
    search: str = "",
    theme_id: int | None = None,
    uncoded: bool = False,
    metadata: dict[str, str] | None = None,
) -> QuerySet[Response]:
    """A project's responses, filtered by text, coded theme, coding state and metadata values."""
    qs = project.responses.all()
    if search:
        qs = qs.filter(Q(text__icontains=search) | Q(respondent_id__icontains=search))
    current = Annotation.objects.filter(response=OuterRef("pk"), is_current=True)
    if theme_id is not None:
        qs = qs.filter(Exists(current.filter(themes=theme_id)))
    if uncoded:
        qs = qs.exclude(Exists(current.filter(themes__isnull=False)))
    for key, value in (metadata or {}).items():
        if "__" in key or not key.strip():
            continue  # a key with "__" would be read as a lookup, not a column name
        qs = qs.filter(**{f"metadata__{key}": value})
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
