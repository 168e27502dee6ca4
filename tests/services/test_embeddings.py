"""Embeddings of a project's responses: each text embedded once, again only when it changes, read as a matrix."""
import numpy as np
import pytest

from labeling_app.models import Response, ResponseEmbedding
from labeling_app.services.embeddings import embedding_matrix, embeddings_ensure
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


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
