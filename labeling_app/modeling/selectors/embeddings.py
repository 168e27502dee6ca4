"""Reads of a project's embeddings: the configured model, the store of vectors, texts by id.

The store (modeling.store) is a read-through cache of the embedding rows: opening it may rebuild its files, which
never changes data (a cache fill, as Django's cache does in a read).
"""
import numpy as np
from django.conf import settings

from labeling_app.modeling.store import EmbeddingStore, embedding_store_load
from labeling_app.projects.models import Project


def embedding_model_name() -> str:
    """The configured model (EMBEDDING_MODEL), or the bundled all-MiniLM-L6-v2."""
    return settings.EMBEDDING_MODEL or "all-MiniLM-L6-v2"


def embedding_matrix_read(*, project: Project) -> tuple[list[int], np.ndarray]:
    """Response ids (in id order) and their stored embeddings as one (n, d) float32 matrix (read-only).

    Served from the project's embedding store (a memory-mapped file rebuilt only when embeddings changed).
    """
    store = embedding_store_get(project=project)
    return store.ids.tolist(), store.vectors


def embedding_store_get(*, project: Project) -> EmbeddingStore:
    """The project's embeddings for the configured model: ids, memory-mapped vectors and row norms."""
    return embedding_store_load(project_id=project.pk, model_name=embedding_model_name())


# Above this many ids the project's texts are streamed once rather than fetched by id in batches.
_TEXTS_BY_ID_MAX = 5000
_ID_BATCH = 500  # ids per IN (...) list (SQLite caps the variables of one statement)


def response_texts_read(*, project: Project, response_ids: list[int]) -> list[str]:
    """Texts of the given responses of a project, in the given order (KeyError for one not in the project).

    Only the rows asked for are read: a few (quotes, top-k) by id, many (training) in one streamed pass.
    """
    wanted = set(response_ids)
    texts: dict[int, str] = {}
    if len(wanted) <= _TEXTS_BY_ID_MAX:
        ordered = sorted(wanted)
        for start in range(0, len(ordered), _ID_BATCH):
            texts.update(project.responses.filter(pk__in=ordered[start:start + _ID_BATCH])
                         .values_list("pk", "text"))
    else:
        for pk, text in project.responses.values_list("pk", "text").iterator(chunk_size=5000):
            if pk in wanted:
                texts[pk] = text
    return [texts[pk] for pk in response_ids]
