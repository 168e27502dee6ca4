"""The blind check of the model's codes: what people coded on the drawn sample against what the model had coded,
beside what the gate claimed, and the one-line statement exports and reports carry."""
import numpy as np

from labeling_app.labeling.models import AutoCode
from labeling_app.labeling.selectors.autocodes import autocodes_current, autocoding_active
from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.projects.models import Project
from ml.autocode import qc_measure

QC_SEED = 0


def _r(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def autocode_check(*, project: Project) -> dict | None:
    """The active auto-coding with its claim and, once drawn, its blind check: {target, model_version, coded,
    claimed_f1, interval, qc: {size, coded, precision, recall, micro_f1, alpha (each with an interval),
    claimed_f1, claimed_interval, model_version}}. None when nothing is coded by the model."""
    active = autocoding_active(project=project)
    if active is None:
        return None
    out = {"target": active.target, "model_version": active.model_number, "coded": len(autocodes_current(
        project=project)), "claimed_f1": _r(active.claimed_f1), "interval": active.claimed_interval,
        "decided_at": active.decided_at, "qc": None}
    if active.qc_drawn_at is None:
        return out
    drawn = dict(AutoCode.objects.filter(auto_coding=active, in_qc=True).values_list("response_id", "theme_ids"))
    resolved = consensus_of(codings_read(project=project, response_ids=list(drawn))).resolved
    checked = sorted(pk for pk in drawn if pk in resolved)
    qc: dict = {"size": active.qc_size, "checked": len(checked), "claimed_f1": _r(active.qc_claimed_f1),
                "claimed_interval": active.qc_claimed_interval, "model_version": active.qc_model_number}
    if checked:
        themes = sorted(set(project.themes.filter(archived=False).values_list("pk", flat=True)))
        column = {t: j for j, t in enumerate(themes)}
        auto = np.zeros((len(checked), len(themes)), dtype=bool)
        human = np.zeros_like(auto)
        for i, pk in enumerate(checked):
            auto[i, [column[t] for t in drawn[pk] if t in column]] = True
            human[i, [column[t] for t in resolved[pk] if t in column]] = True
        figures = qc_measure(auto, human, seed=QC_SEED)
        for name in ("precision", "recall", "micro_f1", "alpha"):
            qc[name] = _r(figures[name])
            qc[f"{name}_interval"] = [_r(v) for v in figures[f"{name}_interval"]]
    out["qc"] = qc
    return out


def autocode_statement(*, project: Project, human_coded: int) -> str:
    """The line exports and reports carry, e.g. "4,210 responses coded by model v17, measured micro-F1 0.86
    [0.82, 0.90] on a blind check of 100; 1,995 coded by people". Empty when nothing is coded by the model."""
    check = autocode_check(project=project)
    if check is None:
        return ""
    coded = check["coded"]
    text = f"{coded:,} response{'s' if coded != 1 else ''} coded by model v{check['model_version']}, "
    qc = check["qc"]
    if qc and qc.get("micro_f1") is not None:
        lo, hi = qc["micro_f1_interval"]
        text += f"measured micro-F1 {qc['micro_f1']:.2f} [{lo:.2f}, {hi:.2f}] on a blind check of {qc['checked']}"
    else:
        claimed = check["claimed_f1"]
        text += (f"claimed micro-F1 {claimed:.2f}, not yet checked blind" if claimed is not None
                 else "not yet checked blind")
    return text + f"; {human_coded:,} coded by people"

