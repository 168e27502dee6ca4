"""Blind double coding and adjudication: which responses several analysts code, and a lead's decisions."""
import hashlib

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.audit.services import audit_record
from labeling_app.labeling.codings import CODING_COUNTS
from labeling_app.labeling.models import Adjudication, Annotation
from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.projects.models import Membership, Project, Response
from labeling_app.projects.services.training_requests import training_inputs_changed


def _draw(project_id: int, response_id: int) -> str:
    # A stable pseudo-random order: the same responses are chosen for a share whenever it is set again.
    return hashlib.sha256(f"{project_id}:{response_id}".encode()).hexdigest()


@transaction.atomic
def overlap_configure(*, project: Project, share: float, coders: int, participant_ids: list[int] | None = None) -> int:
    """Set the share of responses coded blind by `coders` analysts each, and who takes part; returns how many
    responses are overlap items now.

    Items already coded by someone stay as they are; new ones are drawn from uncoded responses in a fixed
    pseudo-random order, so raising the share only adds items.
    """
    if not 0 <= share <= 1:
        raise ValidationError("the overlap share must be between 0 and 1")
    if coders not in (2, 3):
        raise ValidationError("overlap items are coded by 2 or 3 analysts")
    project = Project.objects.select_for_update().get(pk=project.pk)
    before = {"overlap_share": project.overlap_share, "overlap_coders": project.overlap_coders}
    project.overlap_share, project.overlap_coders = share, coders
    project.save(update_fields=["overlap_share", "overlap_coders"])
    if participant_ids is not None:
        members = Membership.objects.filter(project=project)
        members.update(codes_overlap=False)
        members.filter(user_id__in=participant_ids).update(codes_overlap=True)
    responses = dict(project.responses.values_list("pk", "is_overlap"))
    coded = set(codings_read(project=project).complete)
    target = round(share * len(responses))
    chosen = {pk for pk, overlap in responses.items() if overlap}
    spare = sorted((pk for pk in responses if pk not in chosen and pk not in coded), key=lambda r: _draw(project.pk, r))
    droppable = sorted((pk for pk in chosen if pk not in coded), key=lambda r: _draw(project.pk, r), reverse=True)
    if len(chosen) < target:
        add = spare[: target - len(chosen)]
        Response.objects.filter(pk__in=add).update(is_overlap=True)
        chosen |= set(add)
    elif len(chosen) > target:
        drop = droppable[: len(chosen) - target]
        Response.objects.filter(pk__in=drop).update(is_overlap=False)
        chosen -= set(drop)
    after: dict[str, object] = {"overlap_share": share, "overlap_coders": coders, "overlap_items": len(chosen)}
    if participant_ids is not None:
        after["participants"] = sorted(Membership.objects.filter(project=project, codes_overlap=True)
                                       .values_list("user__username", flat=True))
    audit_record(project=project, action="project.overlap", target_type="project", target_id=project.pk,
                 summary=f"{share:.0%} coded blind by {coders}", before=before, after=after)
    if coders != before["overlap_coders"]:
        # How many blind codings resolve an item changed: items become resolved or pending, so what the model
        # learns from changed too.
        training_inputs_changed(project=project)
    return len(chosen)


def _check_disagreement(project: Project, response_id: int) -> Response:
    response = project.responses.select_for_update().filter(pk=response_id).first()
    if response is None:
        raise ValidationError(f"response {response_id} is not in this project")
    if response_id not in consensus_of(codings_read(project=project, response_ids=[response_id])).disagreements:
        raise ValidationError("the coders of this response do not disagree (or a lead has decided already)")
    return response


def adjudication_record(response: Response, lead: User, kind: str, comment: str) -> Adjudication:
    """A lead's decision on a response, superseding the current one (kept as history); the caller sets its themes."""
    Adjudication.objects.filter(response=response, is_current=True).update(is_current=False)
    return Adjudication.objects.create(response=response, kind=kind, decided_by=lead, comment=comment.strip())


@transaction.atomic
def disagreement_resolve(*, project: Project, lead: User, response_id: int, theme_ids: list[int],
                         comment: str = "", confirm_empty: bool = False) -> Adjudication:
    """The lead's final themes for a response its coders disagree on; the model learns from them.

    No theme at all is a decision too (the model learns that none applies), so it is taken only when the caller
    says so with `confirm_empty=True`: an empty set is otherwise a slip (nothing ticked), refused.
    """
    if not theme_ids and not confirm_empty:
        raise ValidationError({"themes": "no theme chosen: give the final themes, or confirm that no theme applies "
                                         "(the model then learns that none does)"})
    response = _check_disagreement(project, response_id)
    live = set(project.themes.filter(archived=False).values_list("pk", flat=True))
    unknown = sorted(set(theme_ids) - live)
    if unknown:
        raise ValidationError(f"themes {unknown} are not live themes of this project")
    decision = adjudication_record(response, lead, Adjudication.Kind.RESOLVE, comment)
    decision.themes.set(sorted(set(theme_ids)))
    names = dict(project.themes.values_list("pk", "name"))
    chosen = sorted(names[t] for t in set(theme_ids))
    audit_record(project=project, action="labels.adjudicate", target_type="response", target_id=response_id,
                 summary=f"{response.respondent_id}: {', '.join(chosen) or 'no theme'}",
                 after={"themes": chosen, "comment": comment.strip()})
    training_inputs_changed(project=project)
    return decision


@transaction.atomic
def disagreement_send_back(*, project: Project, lead: User, response_id: int, comment: str) -> Adjudication:
    """Send a disagreement back to its coders with the lead's comment: they code it again, blind."""
    if not comment.strip():
        raise ValidationError("say what the coders should look at again")
    response = _check_disagreement(project, response_id)
    current = list(Annotation.objects.select_for_update().filter(CODING_COUNTS, response=response)
                   .prefetch_related("themes"))
    Annotation.objects.filter(pk__in=[a.pk for a in current]).update(is_current=False)
    for old in current:
        again = Annotation.objects.create(
            response=response, coder_id=old.coder_id, source=old.source, flagged=old.flagged, supersedes=old,
            sentiment=old.sentiment,
            note=f"Sent back by {lead.username}: {comment.strip()}", needs_recoding=True, changed_by=lead,
        )
        again.themes.set([t.pk for t in old.themes.all()])
    decision = adjudication_record(response, lead, Adjudication.Kind.SEND_BACK, comment)
    audit_record(project=project, action="labels.send_back", target_type="response", target_id=response_id,
                 summary=f"{response.respondent_id}: {comment.strip()}", after={"comment": comment.strip()})
    training_inputs_changed(project=project)
    return decision
