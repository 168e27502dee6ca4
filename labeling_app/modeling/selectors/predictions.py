"""Reading the current model's predictions: suggestions for responses and bands of one theme."""
import functools
from dataclasses import dataclass

import numpy as np

from labeling_app.labeling.models import Annotation, SuggestionRejection
from labeling_app.labeling.selectors.autocodes import qc_response_ids
from labeling_app.modeling.models import ModelVersion, ZeroShotSuggestions
from labeling_app.projects.models import Project

MIN_SHOWN = 0.05  # probabilities below this are not worth showing as suggestions


@dataclass(frozen=True)
class Predictions:
    response_ids: np.ndarray  # (n,) int64, ascending
    theme_ids: list[int]
    probabilities: np.ndarray  # (n, k) float32
    thresholds: np.ndarray  # (k,) float
    gate_correction: dict | None = None  # the version's auto-code gate correction ({} or None: none)
    sentiment: np.ndarray | None = None  # (n, levels) float32: the sentiment head's probabilities, if any

    def rows(self, response_ids: list[int]) -> dict[int, int]:
        """Row index of each given response that the version predicted."""
        ids = np.asarray(response_ids, dtype=np.int64)
        at = np.searchsorted(self.response_ids, ids)
        at = np.minimum(at, max(len(self.response_ids) - 1, 0))
        return {int(r): int(i) for r, i in zip(ids, at, strict=True)
                if len(self.response_ids) and self.response_ids[i] == r}


@functools.lru_cache(maxsize=8)
def _predictions(version_pk: int, made_current_at: str) -> Predictions | None:
    # A version's predictions never change once it is ready, so each process reads them once
    # (keyed by when it was made current too, so a reused id after a database reset is not confused).
    row = ModelVersion.objects.filter(pk=version_pk, status=ModelVersion.Status.READY).values(
        "response_ids", "probabilities", "theme_ids", "thresholds", "gate_correction",
        "sentiment_probabilities").first()
    if row is None or not row["response_ids"]:
        return None
    ids = np.frombuffer(bytes(row["response_ids"]), dtype=np.int64)
    probabilities = np.frombuffer(bytes(row["probabilities"]), dtype=np.float16).reshape(len(ids), -1)
    return Predictions(ids, list(row["theme_ids"]), probabilities.astype(np.float32),
                       np.asarray(row["thresholds"], dtype=np.float64), row["gate_correction"] or None,
                       sentiment_matrix(bytes(row["sentiment_probabilities"] or b""), len(ids)))


def sentiment_matrix(data: bytes, n: int) -> np.ndarray | None:
    """A version's stored sentiment probabilities (float16, n rows) as float32, or None without a head."""
    if not data or not n:
        return None
    return np.frombuffer(data, dtype=np.float16).reshape(n, -1).astype(np.float32)


def predictions_of(*, version: ModelVersion) -> Predictions | None:
    """A ready version's predictions (None once its matrix was dropped as too old)."""
    return _predictions(version.pk, version.made_current_at.isoformat() if version.made_current_at else "")


@functools.lru_cache(maxsize=8)
def _zero_shot(project_pk: int, built_at: str) -> Predictions | None:
    row = ZeroShotSuggestions.objects.filter(project_id=project_pk).values(
        "response_ids", "probabilities", "theme_ids", "threshold").first()
    if row is None or not row["response_ids"]:
        return None
    ids = np.frombuffer(bytes(row["response_ids"]), dtype=np.int64)
    probabilities = np.frombuffer(bytes(row["probabilities"]), dtype=np.float16).reshape(len(ids), -1)
    return Predictions(ids, list(row["theme_ids"]), probabilities.astype(np.float32),
                       np.full(len(row["theme_ids"]), row["threshold"], dtype=np.float64))


def zero_shot_current(*, project: Project) -> Predictions | None:
    """Suggestions from the theme names alone (before the first model version), or None."""
    built = ZeroShotSuggestions.objects.filter(project=project).values_list("built_at", flat=True).first()
    return None if built is None else _zero_shot(project.pk, built.isoformat())


def predictions_current(*, project: Project) -> Predictions | None:
    """The current version's predictions, or None before the first version."""
    if project.current_model_id is None:
        return None
    version = ModelVersion.objects.filter(pk=project.current_model_id).only("pk", "made_current_at").first()
    return predictions_of(version=version) if version else None


def _live_columns(project: Project, predictions: Predictions) -> list[int]:
    live = set(project.themes.filter(archived=False).values_list("pk", flat=True))
    return [j for j, theme_id in enumerate(predictions.theme_ids) if theme_id in live]


def suggestions_for_responses(*, project: Project, response_ids: list[int]) -> dict[int, list[dict]]:
    """The current model's suggestions for some responses, most likely first, live themes only.

    None for the blind check's responses: their coders must not see what the model said. Before the first
    version, the suggestions from the theme names (`source` "theme names" instead of "model").
    """
    out: dict[int, list[dict]] = {pk: [] for pk in response_ids}
    predictions = predictions_current(project=project) if response_ids else None
    source = "model"
    if predictions is None and response_ids and project.current_model_id is None:
        predictions, source = zero_shot_current(project=project), "theme names"
    if predictions is None:
        return out
    columns = _live_columns(project, predictions)
    blind = qc_response_ids(project=project)
    for response_id, row in predictions.rows([pk for pk in response_ids if pk not in blind]).items():
        p = predictions.probabilities[row]
        out[response_id] = sorted(
            ({"theme": predictions.theme_ids[j], "probability": round(float(p[j]), 4),
              "threshold": round(float(predictions.thresholds[j]), 4),
              "suggested": bool(p[j] >= predictions.thresholds[j]), "source": source}
             for j in columns if p[j] >= MIN_SHOWN),
            key=lambda s: -s["probability"],
        )
    return out


def net_suggestions_for_responses(*, project: Project, response_ids: list[int]) -> dict[int, list[dict]]:
    """Suggestions at the codeframe's upper level: for each net, the highest probability among its live codes
    (how likely the respondent is in the net, at least) and whether any of its codes is suggested. Same rules as
    the code-level suggestions (none for the blind check's responses), most likely net first."""
    nets = {n.pk: n for n in project.nets.all()}
    members: dict[int, list[int]] = {}
    for theme_id, net_id in project.themes.filter(archived=False, net__isnull=False).values_list("pk", "net_id"):
        members.setdefault(net_id, []).append(theme_id)
    out: dict[int, list[dict]] = {pk: [] for pk in response_ids}
    predictions = predictions_current(project=project) if response_ids and members else None
    if predictions is None:
        return out
    column = {theme_id: j for j, theme_id in enumerate(predictions.theme_ids)}
    blind = qc_response_ids(project=project)
    for response_id, row in predictions.rows([pk for pk in response_ids if pk not in blind]).items():
        p = predictions.probabilities[row]
        found = []
        for net_id, theme_ids in members.items():
            cols = [column[t] for t in theme_ids if t in column]
            if not cols:
                continue
            best = max(cols, key=lambda j: p[j])
            found.append({"net": net_id, "name": nets[net_id].name, "code": nets[net_id].code,
                          "probability": round(float(p[best]), 4),
                          "suggested": bool(any(p[j] >= predictions.thresholds[j] for j in cols)),
                          "top_theme": predictions.theme_ids[best]})
        out[response_id] = sorted(found, key=lambda s: -s["probability"])
    return out


def sentiment_suggestions_for_responses(*, project: Project, response_ids: list[int]) -> dict[int, dict | None]:
    """The model's sentiment for some responses: the likeliest level, its probability and every level's
    (None where the version has no sentiment head, for the blind check's responses, or a response it did not see)."""
    out: dict[int, dict | None] = dict.fromkeys(response_ids)
    predictions = predictions_current(project=project) if response_ids and project.sentiment_levels else None
    if predictions is None or predictions.sentiment is None:
        return out
    blind = qc_response_ids(project=project)
    for response_id, row in predictions.rows([pk for pk in response_ids if pk not in blind]).items():
        p = predictions.sentiment[row]
        level = int(p.argmax()) + 1
        out[response_id] = {"level": level, "probability": round(float(p[level - 1]), 4),
                            "probabilities": [round(float(x), 4) for x in p]}
    return out


def theme_thresholds(*, project: Project) -> dict[int, float]:
    """Each live theme's decision threshold in the current model (empty before the first version)."""
    predictions = predictions_current(project=project)
    if predictions is None:
        return {}
    return {predictions.theme_ids[j]: round(float(predictions.thresholds[j]), 4)
            for j in _live_columns(project, predictions)}


def suggestions_band(*, project: Project, theme_id: int | None, min_probability: float | None,
                     max_probability: float, exclude_rejected_by: int | None = None,
                     unlabelled_only: bool = True) -> list[dict]:
    """Suggestions in a probability band, for one live theme or all: [{response, theme, probability, suggested}].

    min_probability None means each theme's own threshold, i.e. what the model suggests. Responses
    somebody has coded are left out (unless unlabelled_only is False), and so are those the user
    rejected this theme for. Sorted by probability, highest first.
    """
    predictions = predictions_current(project=project)
    if predictions is None:
        return []
    columns = [j for j in _live_columns(project, predictions)
               if theme_id is None or predictions.theme_ids[j] == theme_id]
    labelled: set[int] = set()
    if unlabelled_only:
        labelled = set(Annotation.objects.filter(response__project=project, is_current=True)
                       .values_list("response_id", flat=True))
    labelled |= qc_response_ids(project=project)  # the blind check's: never shown what the model said
    rejected: set[tuple[int, int]] = set()
    if exclude_rejected_by is not None:
        rejected = set(SuggestionRejection.objects.filter(user_id=exclude_rejected_by, response__project=project)
                       .values_list("response_id", "theme_id"))
    out = []
    for j in columns:
        # No lower bound given: the theme's own threshold, the same test as the `suggested` flag.
        low = max(float(predictions.thresholds[j]) if min_probability is None else min_probability, MIN_SHOWN)
        p = predictions.probabilities[:, j]
        theme = predictions.theme_ids[j]
        for i in np.flatnonzero((p >= low) & (p <= max_probability)):
            response_id = int(predictions.response_ids[i])
            if response_id not in labelled and (response_id, theme) not in rejected:
                out.append({"response": response_id, "theme": theme, "probability": round(float(p[i]), 4),
                            "suggested": bool(p[i] >= predictions.thresholds[j])})
    out.sort(key=lambda s: (-s["probability"], s["response"]))
    return out
