"""Suggestions before the first label: each response's similarity to each theme's name and description
(`ml.zero_shot`), stored per project for the Label page until the first model version takes over."""
import functools

import numpy as np

from labeling_app.modeling.models import ZeroShotSuggestions
from labeling_app.modeling.selectors.embeddings import embedding_matrix_read, embedding_model_name
from labeling_app.modeling.services.embeddings import embedding_model_loaded
from labeling_app.projects.models import Project
from ml import embeddings as ml_embeddings
from ml import zero_shot


@functools.lru_cache(maxsize=512)
def _theme_vector(model_name: str, text: str) -> bytes:
    # Theme texts come again at every rebuild; one embedding per text and process.
    return ml_embeddings.embed_texts(embedding_model_loaded(model_name), [text])[0].astype(np.float32).tobytes()


def zero_shot_build(*, project: Project) -> ZeroShotSuggestions | None:
    """Store the project's suggestions from its live themes' texts for every embedded response (None, and any
    old ones removed, when it has no live theme or no embedded response)."""
    themes = list(project.themes.filter(archived=False).order_by("order", "pk"))
    response_ids, X = embedding_matrix_read(project=project)
    if not themes or not response_ids:
        ZeroShotSuggestions.objects.filter(project=project).delete()
        return None
    name = embedding_model_name()
    T = np.stack([np.frombuffer(_theme_vector(name, zero_shot.theme_text(t.name, t.description)), dtype=np.float32)
                  for t in themes])
    P = zero_shot.zero_shot_proba(X, T)
    row, _ = ZeroShotSuggestions.objects.update_or_create(project=project, defaults={
        "response_ids": np.asarray(response_ids, dtype=np.int64).tobytes(),
        "probabilities": P.astype(np.float16).tobytes(), "theme_ids": [t.pk for t in themes],
        "threshold": zero_shot.suggestion_threshold()})
    return row
