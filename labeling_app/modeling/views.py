"""The Model page: version history, learning curve and per-theme figures of a project's model."""
import math

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.autocode import DEFAULT_TARGET
from labeling_app.modeling.selectors.model_events import live_page_config
from labeling_app.modeling.selectors.training import model_versions
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from ml.classifier import F1_FLOOR, MIN_EXAMPLES, TRUSTED_SUPPORT, needs_more_examples

# Learning-curve SVG geometry: room on the left and below for the tick values and axis titles.
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 24, 14, 46
Y_TICKS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


@login_required
def model_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Version history, learning curve and the current version's sortable per-theme table."""
    membership = page_membership(request, project_id)
    project = membership.project
    versions = list(model_versions(project=project)[:100])
    ready = [v for v in reversed(versions) if v.status == "ready" and v.micro_f1 is not None]
    current = project.current_model
    context = {
        "project": project, "membership": membership, "config": live_page_config(project), **role_flags(membership),
        "versions": versions, "current": current, "curve": _curve(ready),
        "themes": _theme_rows(current),
        "rule": {"min_examples": MIN_EXAMPLES, "trusted_support": TRUSTED_SUPPORT, "f1_floor": F1_FLOOR},
        "autocode_target": DEFAULT_TARGET,
    }
    return render(request, "labeling_app/modeling/model.html", context)


def _theme_rows(version: ModelVersion | None) -> list[dict]:
    """The version's per-theme figures, flagged by the one "needs more examples" rule (old versions too)."""
    if version is None:
        return []
    return [{**row, "needs_more_examples": needs_more_examples(int(row.get("support") or 0), row.get("f1"))}
            for row in version.per_theme or []]


def _nice_step(span: float, target: int = 5) -> float:
    """A 1/2/5 x 10^n step giving about ``target`` intervals over ``span``."""
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _x_ticks(first: int, last: int) -> list[int]:
    """Tick values from ``first`` to ``last`` inclusive: both ends, plus round values not crowding them."""
    if last <= first:
        return [first]
    step = _nice_step(last - first)
    inner = [int(v) for v in range(math.ceil(first / step) * int(step), last, int(step) or 1)
             if min(v - first, last - v) >= 0.1 * (last - first)]
    return [first, *inner, last]


def _curve(versions: list[ModelVersion]) -> dict:
    """Learning-curve geometry: F1 (y, 0 to 1) against labelled responses (x, first to last version).

    The x axis starts at the first version's label count and ends at the last's, so the curve uses the
    whole width; both axes carry ticks with their values.
    """
    if not versions:
        return {}
    counts = [v.labelled_responses for v in versions]
    first, last = min(counts), max(counts)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_h

    def x_of(n: int) -> float:
        # a single label count (one version, or several on the same labels) sits mid-axis
        return LEFT + plot_w * ((n - first) / (last - first) if last > first else 0.5)

    def y_of(f1: float | None) -> float:
        return bottom - plot_h * (f1 or 0.0)

    def points(attr: str) -> list[tuple[str, str]]:
        return [(f"{x_of(v.labelled_responses):.1f}", f"{y_of(getattr(v, attr)):.1f}") for v in versions]

    micro, macro = points("micro_f1"), points("macro_f1")
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "bottom": bottom,
        "micro": " ".join(",".join(p) for p in micro), "macro": " ".join(",".join(p) for p in macro),
        # Markers as well as lines: a single version is a point, not a line.
        "markers": list(zip(micro, macro, strict=True)),
        "x_ticks": [{"x": f"{x_of(n):.1f}", "label": str(n)} for n in _x_ticks(first, last)],
        "y_ticks": [{"y": f"{y_of(t):.1f}", "label": f"{t:.1f}"} for t in Y_TICKS],
        "first": first, "last": last, "x_title": (LEFT + WIDTH - RIGHT) / 2, "y_title": TOP + plot_h / 2,
    }
