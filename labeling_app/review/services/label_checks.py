"""A lead's answer to a "Check labels" flag: the codes are right (confirmed), or these are the right themes (a lead's
decision, which the consensus and the model then take)."""
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.audit.services import audit_record
from labeling_app.labeling.models import Adjudication, LabelCheck
from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.projects.models import Project
from labeling_app.projects.services.training_requests import training_inputs_changed
from labeling_app.review.services.adjudication import adjudication_record


@transaction.atomic
def label_check_decide(*, project: Project, lead: User, response_id: int, theme_ids: list[int] | None = None,
                       confirm_empty: bool = False) -> LabelCheck:
    """Confirm a flagged response's codes (``theme_ids`` None) or fix them to ``theme_ids``. A fix is a lead's
    decision on the response (it replaces the coders' themes in the consensus; the model learns it); an empty fix
    needs ``confirm_empty``. Either way the response is not flagged again until it is coded differently."""
    response = project.responses.select_for_update().filter(pk=response_id).first()
    if response is None:
        raise ValidationError(f"response {response_id} is not in this project")
    resolved = consensus_of(codings_read(project=project, response_ids=[response_id])).resolved
    if response_id not in resolved:
        raise ValidationError("this response's codes are not settled by people: nothing to check")
    names = dict(project.themes.values_list("pk", "name"))
    given = sorted(names.get(t, "?") for t in resolved[response_id])
    if theme_ids is None:
        check = LabelCheck.objects.create(response=response, decision=LabelCheck.Decision.CONFIRMED, decided_by=lead)
        audit_record(project=project, action="labels.check", target_type="response", target_id=response_id,
                     summary=f"{response.respondent_id}: codes confirmed ({', '.join(given) or 'no theme'})")
        return check
    if not theme_ids and not confirm_empty:
        raise ValidationError({"themes": "no theme chosen: give the right themes, or confirm that none applies"})
    live = set(project.themes.filter(archived=False).values_list("pk", flat=True))
    unknown = sorted(set(theme_ids) - live)
    if unknown:
        raise ValidationError(f"themes {unknown} are not live themes of this project")
    decision = adjudication_record(response, lead, Adjudication.Kind.RESOLVE, "Fixed from Check labels")
    decision.themes.set(sorted(set(theme_ids)))
    check = LabelCheck.objects.create(response=response, decision=LabelCheck.Decision.FIXED, decided_by=lead)
    chosen = sorted(names[t] for t in set(theme_ids))
    audit_record(project=project, action="labels.check", target_type="response", target_id=response_id,
                 summary=f"{response.respondent_id}: fixed to {', '.join(chosen) or 'no theme'}",
                 before={"themes": given}, after={"themes": chosen})
    training_inputs_changed(project=project)
    return check
