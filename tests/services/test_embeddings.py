"""Embeddings of a project's responses: each text embedded once, again only when it changes, read as a matrix."""
import threading

import numpy as np
import pytest
from django.db import connections

from labeling_app.models import Response, ResponseEmbedding
from labeling_app.services import embeddings
from labeling_app.services.embeddings import embedding_matrix, embeddings_ensure
from tests.factories import ProjectFactory


@pytest.mark.django_db
def test_only_new_or_changed_texts_are_embedded_and_read_back_in_id_order():
    project = ProjectFactory()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"E{i}", text=f"reason {i}: the price")
                                 for i in range(5))
    assert embeddings_ensure(project=project) == 5
    assert embeddings_ensure(project=project) == 0  # nothing changed: nothing embedded
    ids, X = embedding_matrix(project=project)
    assert ids == sorted(project.responses.values_list("pk", flat=True))
    assert X.shape == (5, 384) and np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-3)
    changed = project.responses.order_by("pk").first()
    before = bytes(ResponseEmbedding.objects.get(response=changed).vector)
    Response.objects.filter(pk=changed.pk).update(text="delivery was late every week")
    assert embeddings_ensure(project=project) == 1
    assert bytes(ResponseEmbedding.objects.get(response=changed).vector) != before


@pytest.mark.django_db(transaction=True)
def test_two_processes_embedding_the_same_responses_at_once_both_succeed(monkeypatch):
    """An embedding run and a retrain's catch-up may embed the same new responses at the same moment.

    Both compute their vectors before either writes (a barrier), then both write: on PostgreSQL the old
    delete-then-insert failed the second writer on the primary key.
    """
    project = ProjectFactory()
    Response.objects.bulk_create(Response(project=project, respondent_id=f"C{i}", text=f"too expensive {i}")
                                 for i in range(6))
    real = embeddings.ml_embeddings.embed_texts
    both_embedded = threading.Barrier(2, timeout=60)

    def embed_then_wait(model, texts, **kwargs):
        vectors = real(model, texts, **kwargs)
        both_embedded.wait()
        return vectors

    monkeypatch.setattr(embeddings.ml_embeddings, "embed_texts", embed_then_wait)
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            embeddings_ensure(project=project)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            both_embedded.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert ResponseEmbedding.objects.filter(response__project=project).count() == 6
    monkeypatch.setattr(embeddings.ml_embeddings, "embed_texts", real)
    assert embeddings_ensure(project=project) == 0  # every response embedded once, for its current text
