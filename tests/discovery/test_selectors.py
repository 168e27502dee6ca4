""""More like this" from the embedding store gives what it gave when it read every embedding from the database:
the same responses in the same order, with and without the labelled ones, from one or several anchors; the map
keeps its run's fixed part and reads what edits and labels change on every request."""
import json
from pathlib import Path

import numpy as np
import pytest

from labeling_app.discovery.models import Cluster, ClusterAssignment, DiscoveryRun
from labeling_app.discovery.selectors import map_points, map_points_json, responses_similar
from labeling_app.discovery.services import map_fixed_write
from labeling_app.labeling.models import Annotation
from labeling_app.modeling.models import ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_model_name
from labeling_app.projects.models import Response
from labeling_app.themes.models import Theme
from ml.discovery import nearest
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _project(n: int, labelled_share: float, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    project = ProjectFactory()
    made = Response.objects.bulk_create(Response(project=project, respondent_id=f"S{i}", text=f"answer {i}")
                                        for i in range(n))
    # Rows of different lengths: the store's known norms must rank as normalising every row did.
    X = rng.standard_normal((n, 16)).astype(np.float32) * rng.uniform(0.2, 4, (n, 1)).astype(np.float32)
    ResponseEmbedding.objects.bulk_create(
        ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash="h", vector=x.tobytes())
        for r, x in zip(made, X, strict=True))
    coder = UserFactory()
    labelled = rng.random(n) < labelled_share
    Annotation.objects.bulk_create(Annotation(response=r, coder=coder) for r, yes in zip(made, labelled, strict=True)
                                   if yes)
    return project, [r.pk for r in made]


def _as_before(project, response_ids: list[int], k: int, unlabelled_only: bool) -> list[int]:  # type: ignore[no-untyped-def]
    """The selector as it was: every embedding blob read, the matrix normalised, labelled ids all fetched."""
    rows = ResponseEmbedding.objects.filter(response__project=project, model_name=embedding_model_name())
    pairs = list(rows.order_by("response_id").values_list("response_id", "vector"))
    ids = [pk for pk, _ in pairs]
    X = np.frombuffer(b"".join(bytes(v) for _, v in pairs), dtype=np.float32).reshape(len(ids), -1)
    row = {pk: i for i, pk in enumerate(ids)}
    anchors = [row[r] for r in response_ids if r in row]
    if not anchors:
        return []
    exclude = set(anchors)
    if unlabelled_only:
        labelled = Annotation.objects.filter(response__project=project, is_current=True)
        exclude |= {row[r] for r in labelled.values_list("response_id", flat=True) if r in row}
    picked = nearest(X, X[anchors].mean(axis=0), k=k, exclude=np.asarray(sorted(exclude), dtype=int))
    return [ids[i] for i in picked]


@pytest.mark.parametrize("unlabelled_only", [True, False])
def test_similar_responses_are_the_same_as_before(unlabelled_only):
    project, ids = _project(400, labelled_share=0.3)
    for anchors, k in (([ids[5]], 20), ([ids[0], ids[17], ids[300]], 50), ([ids[9], 10**9], 1), ([ids[3]], 400)):
        got = [r.pk for r in responses_similar(project=project, response_ids=anchors, k=k,
                                               unlabelled_only=unlabelled_only)]
        assert got == _as_before(project, anchors, k, unlabelled_only)
        assert len(got) == min(k, len(_as_before(project, anchors, 400, unlabelled_only)))
    assert responses_similar(project=project, response_ids=[10**9]) == []


def test_similar_responses_when_nearly_everything_near_is_labelled():
    """Labelled responses fill the first windows of candidates: the selector widens its window, then asks for
    every labelled id once, and still returns the same unlabelled responses as before."""
    project, ids = _project(2600, labelled_share=0.95, seed=1)
    # About 5 unlabelled in the first window of 100, 105 in the first three (2,100 candidates): k=120 needs all.
    for k in (5, 120):
        got = [r.pk for r in responses_similar(project=project, response_ids=[ids[1]], k=k)]
        assert got == _as_before(project, [ids[1]], k, True)
        assert len(got) == k and not Annotation.objects.filter(response_id__in=got).exists()


def test_the_map_keeps_the_runs_fixed_part_and_reads_clusters_and_themes_each_time(settings):
    project, ids = _project(30, labelled_share=0.0)
    run = DiscoveryRun.objects.create(project=project, status=DiscoveryRun.Status.SUCCEEDED,
                                      response_ids=np.asarray(ids, dtype=np.int64).tobytes())
    assert map_points(run=run) == {"ids": [], "pending": True}
    run.layout = np.linspace(0, 1, 60, dtype=np.float32).tobytes()
    run.save()
    a, b = (Cluster.objects.create(run=run, name=name, size=15) for name in ("A <b>", "B"))
    ClusterAssignment.objects.bulk_create(ClusterAssignment(run=run, response_id=pk, cluster=a if i < 15 else b)
                                          for i, pk in enumerate(ids))
    points = map_points(run=run)
    texts = dict(project.responses.values_list("pk", "text"))
    assert points["ids"] == ids and points["text"] == [texts[pk] for pk in ids]
    assert points["x"][1] == pytest.approx(2 / 59, abs=1e-4) and points["cluster"] == [a.pk] * 15 + [b.pk] * 15
    assert points["themes"] == [[]] * 30 and points["clusters"] == {
        str(a.pk): {"name": "A <b>", "outliers": False}, str(b.pk): {"name": "B", "outliers": False}}
    fixed = Path(settings.MEDIA_ROOT) / "discovery" / f"run-{run.pk}" / "map-fixed.json"
    assert not fixed.exists()  # a read writes nothing: the layout job keeps the fixed part
    map_fixed_write(run=run)
    assert fixed.is_file() and map_points(run=run) == points
    # Edits and labels after the first request show at once; the fixed part is not rebuilt for them.
    ClusterAssignment.objects.filter(run=run, response_id=ids[0]).update(cluster=b)
    theme = Theme.objects.create(project=project, name="Price", order=1)
    Annotation.objects.create(response_id=ids[3], coder=UserFactory()).themes.add(theme)
    Cluster.objects.filter(pk=a.pk).update(name="Renamed")
    again = map_points(run=run)
    assert again["cluster"][0] == b.pk and again["themes"][3] == [theme.pk] and again["themes"][4] == []
    assert again["clusters"][str(a.pk)]["name"] == "Renamed" and again["text"] == points["text"]
    assert json.loads(map_points_json(run=run)) == again
