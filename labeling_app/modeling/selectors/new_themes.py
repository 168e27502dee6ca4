"""The "new theme?" list: answers of the newest wave unlike anything coded before (candidates for codes the
codeframe lacks)."""
import numpy as np

from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.modeling.selectors.embeddings import embedding_matrix_read
from labeling_app.modeling.selectors.predictions import predictions_current
from labeling_app.projects.models import Project, Response
from labeling_app.projects.selectors.waves import response_waves, wave_latest
from ml import novelty

NEW_THEME_LIST = 20


def new_theme_candidates_read(*, project: Project, top: int = NEW_THEME_LIST) -> dict:
    """The newest wave's uncoded answers most unlike every coded one (ml.novelty: distance to the nearest coded
    answer, plus how little any theme fits by the current model), near-duplicates dropped, most novel first:
    ``{"wave", "responses": [{id, respondent_id, text, novelty}]}``; no wave (or one wave): an empty list."""
    waves = response_waves(project=project)
    latest = wave_latest(waves=waves)
    if latest is None:
        return {"wave": None, "responses": []}
    ids, X = embedding_matrix_read(project=project)
    coded = set(consensus_of(codings_read(project=project)).resolved)
    fresh = np.array([waves.get(pk) == latest and pk not in coded for pk in ids], dtype=bool)
    known = np.array([pk in coded for pk in ids], dtype=bool)
    if not fresh.any() or not known.any():
        return {"wave": latest, "responses": []}
    fresh_ids = np.asarray(ids, dtype=np.int64)[fresh]
    proba = None
    predictions = predictions_current(project=project)
    if predictions is not None:
        at = predictions.rows(fresh_ids.tolist())
        if len(at) == len(fresh_ids):
            proba = predictions.probabilities[[at[int(pk)] for pk in fresh_ids]]
    scores = novelty.novelty_scores(X[fresh], X[known], proba)
    picks = novelty.new_theme_candidates(X[fresh], scores, top=top)
    rows = {pk: (rid, text) for pk, rid, text in Response.objects.filter(
        pk__in=[int(fresh_ids[i]) for i in picks]).values_list("pk", "respondent_id", "text")}
    return {"wave": latest, "responses": [
        {"id": int(fresh_ids[i]), "respondent_id": rows[int(fresh_ids[i])][0], "text": rows[int(fresh_ids[i])][1],
         "novelty": round(float(scores[i]), 4)} for i in picks]}
