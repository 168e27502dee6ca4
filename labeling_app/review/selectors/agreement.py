"""Inter-coder agreement of a project, computed with `ml.agreement` from the coders' current codings."""
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import User
from django.db.models import Max

from labeling_app.labeling.codings import CODING_COUNTS
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.consensus import Codings, coder_display_name, codings_read, consensus_of
from labeling_app.projects.models import Project
from ml import agreement as ml_agreement

# Krippendorff's conventions: alpha >= 0.8 is reliable, 0.667 <= alpha < 0.8 allows tentative conclusions only.
RELIABLE, TENTATIVE = 0.8, 0.667
# The flag of a theme whose alpha is undefined: every coder gave every double-coded response the same answer
# for it (most often: nobody used the theme there), so there is no variation for alpha to measure.
NO_VARIATION = "not enough variation"
N_BOOT = 1000


@dataclass
class AgreementData:
    """Items coded by two or more coders: `codings[i][j]` is coder j's theme set for item i, or None."""

    response_ids: list[int]
    coder_ids: list[int]
    codings: list[list[frozenset[int] | None]]


def agreement_data(*, project: Project, codings: Codings | None = None) -> AgreementData:
    """The project's multiply coded responses as an items x coders table of theme sets."""
    complete = (codings or codings_read(project=project)).complete
    items = sorted(r for r, by in complete.items() if len(by) >= 2)
    coder_ids = sorted({c for r in items for c in complete[r]})
    column = {c: j for j, c in enumerate(coder_ids)}
    table: list[list[frozenset[int] | None]] = []
    for r in items:
        row: list[frozenset[int] | None] = [None] * len(coder_ids)
        for c, themes in complete[r].items():
            row[column[c]] = themes
        table.append(row)
    return AgreementData(items, coder_ids, table)


def _number(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


def _interval(ci: tuple[float, float] | None) -> list[float | None]:
    return [_number(ci[0]), _number(ci[1])] if ci else [None, None]


def _flag(alpha: float | None) -> str:
    if alpha is None:
        return NO_VARIATION
    return "reliable" if alpha >= RELIABLE else "tentative" if alpha >= TENTATIVE else "unreliable"


def agreement_report(*, project: Project, n_boot: int = N_BOOT) -> dict:
    """Everything the Agreement page and API show, as plain data (alpha `None` where undefined)."""
    codings = codings_read(project=project)
    data = agreement_data(project=project, codings=codings)
    disagreements = consensus_of(codings).disagreements
    if not data.response_ids:
        return {"items": 0, "coders": [], "overall": {"alpha_masi": None, "alpha_masi_ci": [None, None], "items": 0},
                "themes": [], "nets": [], "overall_nets": None,
                "no_variation": 0, "pairs": [], "over_time": [], "model": _model_as_coder(project),
                "unresolved": len(disagreements)}
    themes = list(project.themes.filter(archived=False).order_by("order", "pk"))
    names = {u.pk: coder_display_name(u) for u in User.objects.filter(pk__in=data.coder_ids)}
    per_theme = ml_agreement.theme_agreement(data.codings, [t.pk for t in themes], n_boot=n_boot, seed=0)
    rows = []
    for theme, figures in zip(themes, per_theme, strict=True):
        alpha = _number(figures.alpha)
        differing = sum(1 for i, r in enumerate(data.response_ids) if r in disagreements
                        and len({theme.pk in s for s in data.codings[i] if s is not None}) > 1)
        rows.append({
            "theme": theme.pk, "name": theme.name, "description": theme.description,
            "alpha": alpha, "alpha_ci": _interval(figures.alpha_ci),
            "ac1": _number(figures.ac1), "ac1_ci": _interval(figures.ac1_ci),
            "percent": _number(figures.percent), "percent_ci": _interval(figures.percent_ci),
            "items": figures.n_items, "flag": _flag(alpha), "disagreements": differing,
        })
    # Lowest first; those without variation (alpha undefined) last.
    rows.sort(key=lambda row: (row["alpha"] is None, row["alpha"] if row["alpha"] is not None else 0, row["name"]))
    pairs = [
        {"coder_a": p.coder_a, "coder_b": p.coder_b, "name_a": names[p.coder_a], "name_b": names[p.coder_b],
         "kappa": _number(p.kappa), "kappa_ci": _interval(p.kappa_ci), "ac1": _number(p.ac1),
         "items": p.n_items}
        for p in ml_agreement.pair_kappas(data.codings, data.coder_ids, [t.pk for t in themes], n_boot=n_boot,
                                          seed=0)
    ]
    overall = ml_agreement.overall_agreement(data.codings, n_boot=n_boot, seed=0)
    nets, overall_nets = _net_level(project, themes, data, n_boot)
    return {
        "items": len(data.response_ids),
        "coders": [{"coder": c, "name": names[c]} for c in data.coder_ids],
        "overall": {"alpha_masi": _number(overall["alpha_masi"]),
                    "alpha_masi_ci": _interval(overall["alpha_masi_ci"]), "items": overall["n_items"]},
        "themes": rows,
        "nets": nets,
        "overall_nets": overall_nets,
        "no_variation": sum(1 for row in rows if row["alpha"] is None),
        "pairs": pairs,
        "over_time": _over_time(project, data),
        "model": _model_as_coder(project),
        "unresolved": len(disagreements),
    }


def _net_level(project: Project, themes: list, data: AgreementData, n_boot: int) -> tuple[list[dict], dict | None]:
    """Agreement on the codeframe's nets: each coder's codes read as the nets they fall in (a theme under no net
    stands for itself), then alpha per net and alpha (MASI) over the net sets. None and [] without nets."""
    nets = list(project.nets.order_by("order", "pk"))
    net_of = {t.pk: -t.net_id for t in themes if t.net_id}  # negative: never a theme's id
    if not nets or not net_of:
        return [], None
    codings = ml_agreement.codings_at_net_level(data.codings, net_of)
    used = [n for n in nets if -n.pk in set(net_of.values())]
    per_net = ml_agreement.theme_agreement(codings, [-n.pk for n in used], n_boot=n_boot, seed=0)
    rows = []
    for net, figures in zip(used, per_net, strict=True):
        alpha = _number(figures.alpha)
        rows.append({"net": net.pk, "name": net.name, "code": net.code, "alpha": alpha,
                     "alpha_ci": _interval(figures.alpha_ci), "ac1": _number(figures.ac1),
                     "percent": _number(figures.percent), "items": figures.n_items, "flag": _flag(alpha)})
    overall = ml_agreement.overall_agreement(codings, n_boot=n_boot, seed=0)
    return rows, {"alpha_masi": _number(overall["alpha_masi"]), "alpha_masi_ci": _interval(overall["alpha_masi_ci"]),
                  "items": overall["n_items"]}


def _over_time(project: Project, data: AgreementData) -> list[dict]:
    """Overall alpha (MASI) of the items double-coded up to the end of each month, cumulative."""
    if not data.response_ids:
        return []
    done = dict(Annotation.objects.filter(CODING_COUNTS, response_id__in=data.response_ids)
                .values("response_id").annotate(last=Max("created_at")).values_list("response_id", "last"))
    by_month: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(data.response_ids):
        by_month[done[r].strftime("%Y-%m")].append(i)
    points, seen = [], []
    for month in sorted(by_month):
        seen += by_month[month]
        alpha = ml_agreement.alpha_masi([data.codings[i] for i in seen])
        points.append({"period": month, "alpha_masi": _number(alpha), "items": len(seen)})
    return points


def _model_as_coder(project: Project) -> list[dict]:
    """The current model as one more coder: its out-of-fold decisions against the consensus, per theme."""
    version = project.current_model
    if version is None:
        return []
    rows = []
    for row in version.per_theme:
        counts = [row.get(k) for k in ("tp", "fp", "fn", "tn")]
        if any(c is None for c in counts):
            continue  # a version trained before these counts were kept
        tp, fp, fn, tn = (int(c) for c in counts)
        truth = np.repeat([1, 0, 1, 0], [tp, fp, fn, tn])
        model = np.repeat([1, 1, 0, 0], [tp, fp, fn, tn])
        rows.append({"theme": row["theme"], "name": row.get("theme_name", ""), "f1": _number(row.get("f1")),
                     "kappa": _number(ml_agreement.cohen_kappa(truth.tolist(), model.tolist())),
                     "ac1": _number(ml_agreement.gwet_ac1_pair(truth.tolist(), model.tolist())),
                     "items": tp + fp + fn + tn})
    return rows
