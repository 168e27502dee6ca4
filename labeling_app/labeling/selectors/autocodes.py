"""Reading the model's codes (auto-codings): the project's active auto-coding, its codes, its blind check.

A human coding always wins: every read here that gives a response's themes leaves out the responses people have
coded (any live coding, or a lead's decision), so a model's code never outvotes or hides a human one.
"""
from django.db.models import Exists, OuterRef, QuerySet

from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Adjudication, Annotation, AutoCode, AutoCoding
from labeling_app.projects.models import Project


def autocoding_active(*, project: Project) -> AutoCoding | None:
    """The project's auto-coding that is not undone, if any."""
    return AutoCoding.objects.filter(project=project, undone_at__isnull=True).first()


def _human_coded(response: OuterRef) -> Exists:
    return Exists(Annotation.objects.filter(CODING_LIVE, response=response))


def _decided(response: OuterRef) -> Exists:
    return Exists(Adjudication.objects.filter(response=response, is_current=True, kind=Adjudication.Kind.RESOLVE))


def autocodes_live(*, project: Project) -> "QuerySet[AutoCode]":
    """The active auto-coding's codes of responses nobody has coded (the codes that stand for the response)."""
    return (AutoCode.objects.filter(auto_coding__project=project, auto_coding__undone_at__isnull=True)
            .exclude(_human_coded(OuterRef("response_id"))).exclude(_decided(OuterRef("response_id"))))


def autocodes_current(*, project: Project) -> dict[int, frozenset[int]]:
    """Response id -> the model's themes, for every response the active auto-coding codes and no person has coded.

    QC items not coded yet are included: until a person codes them they carry the model's code like the rest.
    """
    return {pk: frozenset(themes) for pk, themes in autocodes_live(project=project).values_list("response_id",
                                                                                                 "theme_ids")}


def qc_response_ids(*, project: Project) -> set[int]:
    """Every response of the active blind check, coded or not (their model codes are never shown to coders)."""
    return set(AutoCode.objects.filter(auto_coding__project=project, auto_coding__undone_at__isnull=True,
                                       in_qc=True).values_list("response_id", flat=True))


def autocode_fingerprint(*, project: Project) -> str:
    """Changes whenever the project's model codes do (cache keys of tables that count them)."""
    active = autocoding_active(project=project)
    if active is None:
        return "none"
    decided = active.decided_at.isoformat() if active.decided_at else ""
    return f"{active.pk}:{decided}:{active.coded}:{active.qc_drawn_at or ''}"
