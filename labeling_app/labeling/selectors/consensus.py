"""Each response's resolved set of themes, and which responses wait for a lead.

The rules, in order:
1. a lead's current adjudication ("resolve") is the consensus;
2. otherwise the complete codings of the response's coders (current, not waiting to be recoded): one coder's set,
   or the coders' set when they all agree; coders who disagree leave the response unresolved, and it is left out
   of training until a lead decides;
3. themes added in bulk (suggestions, clusters, map) only add to that set: they say a theme applies, not that the
   others do not. A response with bulk-added themes alone is resolved to them.

Overlap (blind double-coded) responses are "open" until `overlap_coders` coders agree or a lead decides: while
open, no coder sees another coder's themes or the model's suggestions for them, and an item with fewer codings
than that is "pending": it has no resolved themes yet, so no filter, count, export, quote or training set reads
one coder's themes as the answer before the others have coded it blind.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db.models import Count

from labeling_app.labeling.codings import CODING_COUNTS, CODING_LIVE
from labeling_app.labeling.models import Adjudication, Annotation
from labeling_app.projects.models import Project, Response

IN_LIST_LIMIT = 20000  # ids a read passes to the database as one list


@dataclass
class Codings:
    """What the coders did with some responses, read in three queries."""

    complete: dict[int, dict[int, frozenset[int]]] = field(default_factory=dict)  # response -> coder -> themes
    partial: dict[int, frozenset[int]] = field(default_factory=dict)  # response -> bulk-added themes
    adjudicated: dict[int, frozenset[int]] = field(default_factory=dict)  # response -> the lead's themes
    overlap: frozenset[int] = frozenset()  # the blind overlap items among the responses read
    coders_needed: int = 2  # codings an overlap item needs before its coders' agreement resolves it


@dataclass
class Consensus:
    resolved: dict[int, frozenset[int]]  # what the model learns from
    disagreements: set[int]  # coders disagree, no lead decision yet
    pending: set[int] = field(default_factory=set)  # overlap items coded by fewer coders than needed, no decision


def codings_read(*, project: Project, response_ids: Iterable[int] | None = None) -> Codings:
    """Current codings of the project's responses (or of the given ones), split as the rules above need."""
    annotations = Annotation.objects.filter(CODING_LIVE, response__project=project)
    adjudications = Adjudication.objects.filter(response__project=project, is_current=True,
                                                kind=Adjudication.Kind.RESOLVE)
    overlap = Response.objects.filter(project=project, is_overlap=True)
    wanted: set[int] | None = None
    if response_ids is not None:
        ids = list(response_ids)
        if len(ids) <= IN_LIST_LIMIT:
            annotations = annotations.filter(response_id__in=ids)
            adjudications, overlap = adjudications.filter(response_id__in=ids), overlap.filter(pk__in=ids)
        else:  # past SQLite's bound on query parameters: read the project, keep the ones asked for
            wanted = set(ids)
    complete: dict[int, dict[int, set[int]]] = defaultdict(dict)
    partial: dict[int, set[int]] = defaultdict(set)
    for response_id, coder_id, is_complete, theme_id in annotations.values_list(
            "response_id", "coder_id", "is_complete", "themes"):
        if wanted is not None and response_id not in wanted:
            continue
        if is_complete:  # a live coding that is complete counts (labeling.codings); others add themes only
            themes = complete[response_id].setdefault(coder_id, set())
            if theme_id is not None:
                themes.add(theme_id)
        elif theme_id is not None:
            partial[response_id].add(theme_id)
    adjudicated: dict[int, set[int]] = defaultdict(set)
    for response_id, theme_id in adjudications.values_list("response_id", "themes"):
        if wanted is not None and response_id not in wanted:
            continue
        themes = adjudicated[response_id]  # a decision with no theme is still a decision
        if theme_id is not None:
            themes.add(theme_id)
    return Codings(
        complete={r: {c: frozenset(t) for c, t in by.items()} for r, by in complete.items()},
        partial={r: frozenset(t) for r, t in partial.items()},
        adjudicated={r: frozenset(t) for r, t in adjudicated.items()},
        overlap=frozenset(r for r in overlap.values_list("pk", flat=True) if wanted is None or r in wanted),
        coders_needed=project.overlap_coders,
    )


def consensus_of(codings: Codings) -> Consensus:
    """Apply the module's rules to codings read by `codings_read`."""
    resolved: dict[int, frozenset[int]] = {}
    disagreements: set[int] = set()
    pending: set[int] = set()
    for response_id in set(codings.complete) | set(codings.partial) | set(codings.adjudicated):
        if response_id in codings.adjudicated:
            resolved[response_id] = codings.adjudicated[response_id]
            continue
        by_coder = codings.complete.get(response_id, {})
        sets = set(by_coder.values())
        if len(sets) > 1:
            disagreements.add(response_id)
        elif response_id in codings.overlap and len(by_coder) < codings.coders_needed:
            pending.add(response_id)
        else:
            resolved[response_id] = next(iter(sets), frozenset()) | codings.partial.get(response_id, frozenset())
    return Consensus(resolved=resolved, disagreements=disagreements, pending=pending)


def consensus_for_project(*, project: Project) -> Consensus:
    """Every response's resolved themes (what the model trains on) and the unresolved disagreements."""
    return consensus_of(codings_read(project=project))


def overlap_open_ids(*, project: Project, response_ids: Iterable[int]) -> set[int]:
    """The given responses that are blind overlap items not resolved yet (coders must not see others' themes)."""
    ids = list(response_ids)
    if not ids:
        return set()
    overlap = list(project.responses.filter(pk__in=ids, is_overlap=True).values_list("pk", flat=True))
    if not overlap:
        return set()
    codings = codings_read(project=project, response_ids=overlap)
    return {r for r in overlap if not overlap_is_resolved(codings, r, project.overlap_coders)}


def overlap_is_resolved(codings: Codings, response_id: int, coders_needed: int) -> bool:
    """An overlap item is resolved once a lead decided, or enough coders coded it and all agree."""
    if response_id in codings.adjudicated:
        return True
    sets = list(codings.complete.get(response_id, {}).values())
    return len(sets) >= coders_needed and len(set(sets)) == 1


def consensus_exceptions(*, project: Project) -> tuple[set[int], Codings, Consensus]:
    """The responses whose resolved themes are not simply their current codings' themes (several complete
    coders, a lead's decision, or a blind overlap item someone coded), with their codings and consensus.

    Every other coded response has at most one complete coder and no decision, so its resolved set is the
    themes of its current codings that count: a filter can match those in SQL and only these few in Python.
    """
    several = (Annotation.objects.filter(CODING_COUNTS, response__project=project).order_by().values("response_id")
               .annotate(n=Count("coder_id", distinct=True)).filter(n__gt=1).values_list("response_id", flat=True))
    special = set(several)
    special |= set(Adjudication.objects.filter(response__project=project, is_current=True,
                                               kind=Adjudication.Kind.RESOLVE).values_list("response_id", flat=True))
    live = Annotation.objects.filter(CODING_LIVE, response__project=project, response__is_overlap=True)
    special |= set(live.values_list("response_id", flat=True))
    codings = codings_read(project=project, response_ids=special)
    return special, codings, consensus_of(codings)


def disagreements_list(*, project: Project, theme_id: int | None = None) -> list[dict]:
    """Unresolved disagreements, oldest first: each coder's themes side by side (for a theme: where coders
    differ on it), and the themes they all chose (`agreed`: where a lead's decision starts)."""
    codings = codings_read(project=project)
    open_ids = consensus_of(codings).disagreements
    if theme_id is not None:
        open_ids = {r for r in open_ids if len({theme_id in s for s in codings.complete[r].values()}) > 1}
    responses = {r.pk: r for r in Response.objects.filter(pk__in=open_ids)}
    coders = {u.pk: u for u in User.objects.filter(pk__in={c for r in open_ids for c in codings.complete[r]})}
    rows = []
    for response_id in sorted(open_ids):
        response = responses[response_id]
        agreed = frozenset.intersection(*codings.complete[response_id].values())
        rows.append({
            "response": response_id, "respondent_id": response.respondent_id, "text": response.text,
            "agreed": sorted(agreed),
            "coders": [{"coder": c, "name": coder_display_name(coders[c]), "themes": sorted(themes)}
                       for c, themes in sorted(codings.complete[response_id].items())],
        })
    return rows


def coder_display_name(user: User) -> str:
    """How a coder is shown: the name from the import file for file coders, else the username."""
    return user.first_name if not user.is_active and user.first_name else user.username
