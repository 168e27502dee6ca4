"""Letting the model code what it is sure of: confirm the gate's decisions, re-decide after each retrain, undo,
and draw the blind check (QC sample) that measures the claim.

The model's codes are AutoCode rows of the project's one active AutoCoding, never Annotations: they do not train
the model, are not a coder in agreement or consensus, and any human coding of a response wins over them. The
queue stops serving auto-coded responses (except the blind check's, which it serves first) and serves them again
once the auto-coding is undone.
"""
import random
from collections.abc import Callable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from labeling_app.audit.services import audit_record
from labeling_app.core.db import ids_chunked
from labeling_app.labeling.models import AutoCode, AutoCoding, LabelQueue
from labeling_app.labeling.selectors.autocodes import autocodes_live
from labeling_app.modeling.selectors.autocode import MAX_TARGET, MIN_TARGET, GateDecision, autocode_preview, gate_decide
from labeling_app.modeling.selectors.predictions import Predictions
from labeling_app.projects.models import Project

QC_DEFAULT_SIZE = 100
QC_MAX_SIZE = 2000


def _target_checked(target: float) -> float:
    if not MIN_TARGET <= target <= MAX_TARGET:
        raise ValidationError(f"The target micro-F1 must be between {MIN_TARGET} and {MAX_TARGET}.")
    return float(target)


def _codes_write(auto_coding: AutoCoding, decision: GateDecision) -> None:
    """Replace the auto-coding's codes (all but the blind check's, kept as drawn) with ``decision``'s."""
    auto_coding.codes.filter(in_qc=False).delete()
    AutoCode.objects.bulk_create([
        AutoCode(auto_coding=auto_coding, response_id=pk, theme_ids=themes, confidence=round(confidence, 6),
                 model_number=decision.model_number or 0)
        for pk, themes, confidence in zip(decision.response_ids, decision.themes, decision.confidence, strict=True)
    ], batch_size=2000)
    auto_coding.model_number = decision.model_number or 0
    auto_coding.claimed_f1 = decision.claimed_f1
    auto_coding.claimed_interval = decision.interval
    auto_coding.coded = len(decision.response_ids) + auto_coding.codes.filter(in_qc=True).count()
    auto_coding.decided_at = timezone.now()
    auto_coding.save()


def queue_order_for_autocodes(*, project: Project, order: list[int]) -> list[int]:
    """``order`` (the queue's active-learning order) with the auto-coded responses taken out and the blind check's
    uncoded responses first."""
    live = dict(autocodes_live(project=project).values_list("response_id", "in_qc"))
    qc = sorted(pk for pk, in_qc in live.items() if in_qc)
    return [*qc, *(pk for pk in order if pk not in live)]


def _queue_refresh(project: Project, *, freed: list[int] | None = None) -> None:
    """Rewrite the saved queue order for the project's model codes now (saving moves `built_at`, so every process
    reads the new order); responses ``freed`` from the model go back at its end."""
    queue = LabelQueue.objects.select_for_update().filter(project=project).first()
    if queue is None:
        return
    back = set(freed or ())
    order = [pk for pk in queue.response_ids if pk not in back] + list(freed or ())
    queue.response_ids = queue_order_for_autocodes(project=project, order=order)
    queue.save(update_fields=["response_ids", "built_at"])


def autocode_apply(*, project: Project, user: User, target: float) -> AutoCoding:
    """Code, as the model's, what the current version codes at ``target`` (replacing an active auto-coding's
    codes and target); the rest stay in the queue. Audited; undone as one action by `autocode_undo`."""
    target = _target_checked(target)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one confirmation at a time
        decision = autocode_preview(project=project, target=target)
        if decision is None:
            raise ValidationError("There is no model yet: code some responses first.")
        if not decision.response_ids:
            raise ValidationError(f"The model is not sure enough of any uncoded response at micro-F1 {target}.")
        active = AutoCoding.objects.select_for_update().filter(project=project, undone_at__isnull=True).first()
        before = None if active is None else {"target": active.target, "coded": active.coded}
        if active is None:
            active = AutoCoding.objects.create(project=project, target=target, created_by=user)
        active.target = target
        active.model_version_id = project.current_model_id
        _codes_write(active, decision)
        _queue_refresh(project)
        audit_record(project=project, action="autocode.apply", target_type="autocoding", target_id=active.pk,
                     summary=f"model v{decision.model_number} coded {active.coded} responses at target micro-F1 "
                             f"{target:.2f} (claimed {decision.claimed_f1:.2f})",
                     before=before, after={"target": target, "coded": active.coded,
                                           "claimed_f1": decision.claimed_f1})
    return active


def autocode_redecide(*, project: Project, predictions: Callable[[], Predictions | None], model_number: int,
                      model_version_id: int) -> AutoCoding | None:
    """A newly promoted version decides again for the active auto-coding, at its target (inside the promotion's
    transaction: a failed retrain leaves the previous codes). ``predictions`` gives the version's predictions
    (read only when there is an auto-coding). Human codes are never touched; the blind check's codes stay as
    drawn. Returns the auto-coding, or None when there is none (or the version predicted nothing)."""
    active = AutoCoding.objects.select_for_update().filter(project=project, undone_at__isnull=True).first()
    if active is None:
        return None
    predicted = predictions()
    if predicted is None:
        return None
    decision = gate_decide(project=project, predictions=predicted, target=active.target, model_number=model_number)
    active.model_version_id = model_version_id
    _codes_write(active, decision)
    return active


def autocode_undo(*, project: Project, user: User) -> int:
    """Remove every code of the active auto-coding (one action, audited); returns how many. The responses go
    back to the queue."""
    with transaction.atomic():
        active = AutoCoding.objects.select_for_update().filter(project=project, undone_at__isnull=True).first()
        if active is None:
            raise ValidationError("Nothing is coded by the model.")
        freed = list(active.codes.values_list("response_id", flat=True))
        removed, _ = active.codes.all().delete()
        active.undone_at, active.undone_by = timezone.now(), user
        active.save(update_fields=["undone_at", "undone_by"])
        _queue_refresh(project, freed=freed)
        audit_record(project=project, action="autocode.undo", target_type="autocoding", target_id=active.pk,
                     summary=f"removed the model's codes of {removed} responses", before={"coded": removed},
                     after={"coded": 0})
    return removed


def autocode_qc_draw(*, project: Project, user: User, size: int = QC_DEFAULT_SIZE, seed: int | None = None) -> int:
    """Draw the blind check: ``size`` of the model's codes at random go to analysts, who code them without seeing
    the model's themes. One check per auto-coding; returns how many were drawn."""
    if not 1 <= size <= QC_MAX_SIZE:
        raise ValidationError(f"The check's size must be between 1 and {QC_MAX_SIZE}.")
    with transaction.atomic():
        active = AutoCoding.objects.select_for_update().filter(project=project, undone_at__isnull=True).first()
        if active is None:
            raise ValidationError("Nothing is coded by the model: there is nothing to check.")
        if active.qc_drawn_at is not None:
            raise ValidationError("The blind check of this auto-coding is drawn already.")
        ids = sorted(autocodes_live(project=project).values_list("response_id", flat=True))
        drawn = random.Random(seed).sample(ids, min(size, len(ids)))
        for chunk in ids_chunked(drawn):
            AutoCode.objects.filter(auto_coding=active, response_id__in=chunk).update(in_qc=True)
        active.qc_size, active.qc_drawn_at = len(drawn), timezone.now()
        active.qc_claimed_f1, active.qc_claimed_interval = active.claimed_f1, active.claimed_interval
        active.qc_model_number = active.model_number
        active.save()
        _queue_refresh(project)
        audit_record(project=project, action="autocode.qc", target_type="autocoding", target_id=active.pk,
                     summary=f"drew a blind check of {len(drawn)} of the model's codes", after={"size": len(drawn)})
    return len(drawn)
