from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from labeling_app.core.db import ids_chunked
from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Adjudication, Annotation, AutoCode
from labeling_app.labeling.selectors.consensus import (
    coder_display_name,
    codings_read,
    consensus_exceptions,
    consensus_of,
    overlap_is_resolved,
)
from labeling_app.projects.models import Membership, Project, Response, Role
from labeling_app.themes.models import Theme


def responses_filter(
    *,
    project: Project,
    search: str = "",
    theme_id: int | None = None,
    uncoded: bool = False,
    flagged: bool = False,
    metadata: dict[str, str] | None = None,
    blind_for: int | None = None,
) -> QuerySet[Response]:
    """A project's responses, filtered by text, resolved theme, coding state, flag and metadata values.

    theme_id: responses whose resolved themes (the consensus: what exports and the model use) include it, and
    unresolved ones where a coding the viewer may see has it: an analyst's own (`blind_for`), anyone's for a lead.
    uncoded: nobody has coded it (a response coded with no theme is coded).
    flagged: only responses whose current annotation (by anyone) is flagged for a second look.
    """
    qs = project.responses.all()
    if search:
        qs = qs.filter(Q(text__icontains=search) | Q(respondent_id__icontains=search))
    current = Annotation.objects.filter(response=OuterRef("pk"), is_current=True)
    if theme_id is not None:
        qs = qs.filter(_theme_q(project, theme_id, blind_for))
    if uncoded:
        live = Annotation.objects.filter(CODING_LIVE, response=OuterRef("pk"))
        qs = qs.exclude(Exists(live)).exclude(Exists(Adjudication.objects.filter(
            response=OuterRef("pk"), is_current=True, kind=Adjudication.Kind.RESOLVE)))
    if flagged:
        qs = qs.filter(Exists(current.filter(flagged=True)))
    for n, (key, value) in enumerate((metadata or {}).items()):
        # The key is a literal JSON key, never part of a lookup path (`metadata__contains` would be a lookup).
        # Cast: a bare KeyTextTransform keeps JSONField's key lookups, which would read `value` as JSON.
        as_text = Cast(KeyTextTransform(key, "metadata"), output_field=TextField())
        qs = qs.alias(**{f"_meta_{n}": as_text}).filter(**{f"_meta_{n}": value})
    return qs.order_by("id")


def _theme_q(project: Project, theme_id: int, blind_for: int | None) -> Q:
    # Ordinary responses (one complete coder, no decision, not blind) resolve to their counting codings' themes:
    # matched in SQL. The exceptions go through the consensus rules in Python (see consensus_exceptions).
    special, codings, consensus = consensus_exceptions(project=project)
    matching = {r for r, themes in consensus.resolved.items() if theme_id in themes}
    for response_id in consensus.pending | consensus.disagreements:
        by_coder = codings.complete.get(response_id, {})
        visible = [by_coder.get(blind_for, frozenset())] if blind_for is not None else by_coder.values()
        if any(theme_id in themes for themes in visible):
            matching.add(response_id)
    ordinary = Exists(Annotation.objects.filter(CODING_LIVE, response=OuterRef("pk"), themes=theme_id))
    return (Q(ordinary) & ~Q(pk__in=special)) | Q(pk__in=matching)


def viewer_blind_for(membership: Membership) -> int | None:
    """Whose codings of open blind items a member may see: an analyst only their own (their user id); leads
    and admins every coder's (None)."""
    return membership.user_id if membership.role == Role.ANALYST else None


@dataclass(frozen=True)
class CoderThemes:
    """One coder's current coding of a response, as a viewer may see it."""

    coder_id: int
    name: str
    themes: list[Theme]


@dataclass(frozen=True)
class ResponseThemes:
    """What a response's themes are, for one viewer.

    state: "coded" (resolved: `themes` is the consensus), "uncoded", "blind" (an open blind item: the viewer sees
    only their own coding until it is resolved), "waiting" (a blind item waiting for more coders) or
    "disagreement" (its coders disagree; a lead decides).
    """

    state: str
    themes: list[Theme]
    coders: list[CoderThemes]
    flagged: bool

    @property
    def coders_worth_showing(self) -> bool:
        """Whether the codings say more than the resolved set (several coders, or not resolved yet)."""
        return len(self.coders) > 1 or (self.state != "coded" and bool(self.coders))


def responses_themes(*, project: Project, response_ids: list[int], blind_for: int | None) -> dict[int, ResponseThemes]:
    """Each response's resolved themes and the codings behind them, as the viewer may see them: an analyst
    (`blind_for`: their user id) sees only their own coding of an open blind item; leads see every coding.
    A few queries for the whole list."""
    ids = list(response_ids)
    codings = codings_read(project=project, response_ids=ids)
    consensus = consensus_of(codings)
    theme_of = {t.pk: t for t in project.themes.all()}
    ordered = sorted(theme_of.values(), key=lambda t: (t.order, t.pk))
    rank = {t.pk: i for i, t in enumerate(ordered)}
    coder_ids = {c for by in codings.complete.values() for c in by}
    names = {u.pk: coder_display_name(u) for u in User.objects.filter(pk__in=coder_ids)}
    flags: dict[int, set[int]] = {}
    for response_id, coder_id in Annotation.objects.filter(response_id__in=ids, is_current=True, flagged=True
                                                           ).values_list("response_id", "coder_id"):
        flags.setdefault(response_id, set()).add(coder_id)
    open_blind = set() if blind_for is None else {
        r for r in codings.overlap if not overlap_is_resolved(codings, r, codings.coders_needed)}
    # The model's codes of responses nobody coded (an analyst is not shown those of the blind check).
    auto: dict[int, frozenset[int]] = {}
    for chunk in ids_chunked(ids):
        for response_id, theme_ids, in_qc in AutoCode.objects.filter(
                response_id__in=chunk, auto_coding__undone_at__isnull=True).values_list(
                "response_id", "theme_ids", "in_qc"):
            if not (in_qc and blind_for is not None):
                auto[response_id] = frozenset(t for t in theme_ids if t in theme_of)

    def themes(pks: frozenset[int]) -> list[Theme]:
        return [theme_of[t] for t in sorted(pks, key=rank.__getitem__)]

    out: dict[int, ResponseThemes] = {}
    for response_id in ids:
        by_coder = sorted(codings.complete.get(response_id, {}).items())
        blind = response_id in open_blind
        if blind:
            by_coder = [(c, t) for c, t in by_coder if c == blind_for]
        coders = [CoderThemes(c, names[c], themes(t)) for c, t in by_coder]
        flaggers = flags.get(response_id, set())
        flagged = blind_for in flaggers if blind else bool(flaggers)
        if response_id in consensus.resolved:
            state, resolved = "coded", themes(consensus.resolved[response_id])
        elif blind:
            state, resolved = "blind", []
        elif response_id in consensus.disagreements:
            state, resolved = "disagreement", []
        elif response_id in consensus.pending:
            state, resolved = "waiting", []
        elif response_id in auto and not coders:
            state, resolved = "model", themes(auto[response_id])
        else:
            state, resolved = "uncoded", []
        out[response_id] = ResponseThemes(state, resolved, coders, flagged)
    return out


def metadata_keys_present(*, project: Project, keys: Collection[str]) -> set[str]:
    """Which of `keys` are metadata columns of some response of the project (an exact look-up per key, for
    the few names a `meta=KEY:VALUE` filter with several ':' could mean)."""
    return {k for k in keys if project.responses.filter(metadata__has_key=k).exists()}


def metadata_keys(*, project: Project, sample: int = 200) -> list[str]:
    """Metadata columns present in the project's responses (from a sample, in file order)."""
    keys: dict[str, None] = {}
    for metadata in project.responses.values_list("metadata", flat=True)[:sample]:
        keys.update(dict.fromkeys(metadata or {}))
    return list(keys)


@dataclass(frozen=True)
class ResponseCoding:
    response: Response
    theme_ids: list[int]  # the user's current live themes for it, in theme order
    flagged: bool
    needs_recoding: bool = False  # sent back by a lead: the user is to code it again
    sentiment: int | None = None  # the user's sentiment of it


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
    return ResponseCoding(response, [t.pk for t in themes], annotation.flagged, annotation.needs_recoding,
                          annotation.sentiment)
