"""What the model would code at a target: the auto-code gate's preview, read before anything is written.

The gate (`ml.autocode.gate_plan`) takes the current version's calibrated probabilities of the responses nobody has
coded and decides per response: a response is coded only when its whole set of theme decisions is likely right,
the most confident first, as many as keep the expected micro-F1 of the coded ones at or above the target.
"""
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Exists, OuterRef

from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Adjudication, Annotation, AutoCode
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.predictions import Predictions, predictions_current
from labeling_app.projects.models import Project
from ml.autocode import GateCorrection, apply_gate_correction, gate_plan

DEFAULT_TARGET = 0.85
#: Targets an admin may set: below this the model's codes are not worth calling coded.
MIN_TARGET, MAX_TARGET = 0.5, 0.99
GATE_SEED = 0


@dataclass
class GateDecision:
    """The gate's decisions for one version: which responses it codes and with what, and what it claims."""

    target: float
    model_number: int | None
    eligible: int  # responses nobody coded that the version predicted (the gate's candidates)
    response_ids: list[int] = field(default_factory=list)  # coded, most confident first
    themes: list[list[int]] = field(default_factory=list)  # each coded response's themes (live theme ids)
    confidence: list[float] = field(default_factory=list)
    claimed_f1: float | None = None
    interval: list[float] = field(default_factory=list)
    per_theme: list[dict] = field(default_factory=list)  # [{theme, name, coded}] in theme order

    def payload(self) -> dict:
        """The preview as the API and the page show it (no per-response lists)."""
        coded = len(self.response_ids)
        return {"target": self.target, "model_version": self.model_number, "eligible": self.eligible,
                "coded": coded, "left": self.eligible - coded,
                "coverage": round(coded / self.eligible, 4) if self.eligible else 0.0,
                "claimed_f1": None if self.claimed_f1 is None else round(self.claimed_f1, 4),
                "interval": [round(v, 4) for v in self.interval], "per_theme": self.per_theme}


def autocode_candidates(*, project: Project) -> set[int]:
    """Responses the gate may code: nobody has coded them (no live coding, no lead decision), not overlap items
    (those are coded blind by people), not in the blind check (kept as drawn)."""
    coded = Exists(Annotation.objects.filter(CODING_LIVE, response=OuterRef("pk")))
    decided = Exists(Adjudication.objects.filter(response=OuterRef("pk"), is_current=True))
    in_qc = Exists(AutoCode.objects.filter(response=OuterRef("pk"), in_qc=True, auto_coding__undone_at__isnull=True))
    return set(project.responses.filter(is_overlap=False).exclude(coded).exclude(decided).exclude(in_qc)
               .values_list("pk", flat=True))


def gate_decide(*, project: Project, predictions: Predictions, target: float, model_number: int | None) -> GateDecision:
    """The gate over ``predictions`` (one version's) at ``target``, for the live themes and uncoded responses."""
    themes = list(project.themes.filter(archived=False).order_by("order", "pk").values_list("pk", "name"))
    column = {theme_id: j for j, theme_id in enumerate(predictions.theme_ids)}
    live = [(theme_id, name) for theme_id, name in themes if theme_id in column]
    candidates = autocode_candidates(project=project)
    rows = np.array([i for i, pk in enumerate(predictions.response_ids.tolist()) if pk in candidates], dtype=np.int64)
    decision = GateDecision(target, model_number, len(rows))
    if not len(rows) or not live:
        decision.per_theme = [{"theme": t, "name": n, "coded": 0} for t, n in themes]
        return decision
    cols = np.array([column[t] for t, _ in live], dtype=np.int64)
    P = predictions.probabilities[np.ix_(rows, cols)]
    thresholds = predictions.thresholds[cols]
    if predictions.gate_correction:
        # Per-theme probabilities over-count the misses of the rows the gate codes; the version measured by how
        # much on its out-of-fold predictions (ml.autocode.fit_gate_correction).
        c = predictions.gate_correction
        P = apply_gate_correction(P, thresholds, GateCorrection(c["fp_scale"], c["fn_scale"], c["rows"]))
    plan = gate_plan(P, thresholds, target, seed=GATE_SEED)
    live_ids = [t for t, _ in live]
    decision.response_ids = [int(predictions.response_ids[rows[i]]) for i in plan.rows]
    decision.themes = [[live_ids[j] for j in np.flatnonzero(labels)] for labels in plan.labels]
    decision.confidence = [float(plan.confidence[i]) for i in plan.rows]
    if len(plan.rows):
        decision.claimed_f1 = float(plan.claimed_f1)
        decision.interval = [float(v) for v in plan.interval]
    counts = {t: int(c) for t, c in zip(live_ids, plan.per_theme, strict=True)}
    decision.per_theme = [{"theme": t, "name": n, "coded": counts.get(t, 0)} for t, n in themes]
    return decision


def autocode_preview(*, project: Project, target: float = DEFAULT_TARGET) -> GateDecision | None:
    """What the current version would code at ``target`` now (None before the first version has predictions)."""
    predictions = predictions_current(project=project)
    if predictions is None:
        return None
    number = ModelVersion.objects.filter(pk=project.current_model_id or 0).values_list("number", flat=True).first()
    return gate_decide(project=project, predictions=predictions, target=target, model_number=number)
