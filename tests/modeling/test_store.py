"""The embedding store: one memory-mapped matrix per project and model, rebuilt only when the database moved on,
written so that concurrent writers and readers never see a broken file."""
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

from labeling_app.modeling import store as es
from labeling_app.modeling.models import ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_model_name
from labeling_app.projects.models import Response
from tests.conftest import ROOT, _database_url
from tests.factories import ProjectFactory

DIMS = 8


def _vector(seed: int) -> bytes:
    return np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32).tobytes()


def _project(n: int = 6, model: str | None = None):  # type: ignore[no-untyped-def]
    project = ProjectFactory()
    made = Response.objects.bulk_create(Response(project=project, respondent_id=f"R{i}", text=f"answer {i}")
                                        for i in range(n))
    for r in made:
        ResponseEmbedding.objects.create(response=r, model_name=model or embedding_model_name(), text_hash="h",
                                         vector=_vector(r.pk))
    return project


def _expected(project, model: str):  # type: ignore[no-untyped-def]
    rows = ResponseEmbedding.objects.filter(response__project=project, model_name=model).order_by("response_id")
    ids = [pk for pk, _ in rows.values_list("response_id", "vector")]
    X = np.stack([np.frombuffer(bytes(v), dtype=np.float32) for _, v in rows.values_list("response_id", "vector")])
    return ids, X


def _load(project, model: str | None = None) -> es.EmbeddingStore:  # type: ignore[no-untyped-def]
    return es.embedding_store_load(project_id=project.pk, model_name=model or embedding_model_name())


def _files(project, model: str | None = None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The store's files of a project and model, with their inode (a rewrite gives a new one)."""
    folder = es.embedding_store_folder(project.pk, model or embedding_model_name())
    return {p.name: p.stat().st_ino for p in folder.iterdir()}


def _assert_matches_database(store: es.EmbeddingStore, project, model: str | None = None) -> None:  # type: ignore[no-untyped-def]
    ids, X = _expected(project, model or embedding_model_name())
    assert store.ids.tolist() == ids
    assert np.array_equal(np.asarray(store.vectors), X)
    assert np.allclose(store.norms, np.linalg.norm(X, axis=1))
    assert isinstance(store.vectors, np.memmap) and not store.vectors.flags.writeable


@pytest.mark.django_db
def test_the_store_holds_the_database_embeddings_and_is_reused_while_nothing_changed():
    project = _project()
    store = _load(project)
    _assert_matches_database(store, project)
    files = _files(project)
    assert sorted(n.rsplit(".", 2)[1:] for n in files) == [["index", "npz"], ["vectors", "npy"]]
    assert _load(project) is store  # same process: the open store, after one fingerprint query
    es._opened.clear()  # another process: the files are checked, not rewritten
    again = _load(project)
    assert again.key == store.key and _files(project) == files
    assert store.rows_of([store.ids[3], 10**9, store.ids[0]]).tolist() == [3, -1, 0]


@pytest.mark.django_db
def test_a_changed_embedding_rebuilds_the_store():
    project = _project()
    before = _load(project)
    changed = ResponseEmbedding.objects.filter(response__project=project).order_by("response_id")[2]
    changed.vector = _vector(999)
    changed.save()  # as the upsert does: created_at moves
    after = _load(project)
    assert after.key != before.key
    _assert_matches_database(after, project)
    assert np.array_equal(np.asarray(after.vectors[2]), np.frombuffer(_vector(999), dtype=np.float32))
    assert len(_files(project)) == 2  # the old key's files are gone


@pytest.mark.django_db
def test_an_added_or_removed_response_rebuilds_the_store():
    project = _project()
    first = _load(project)
    added = Response.objects.create(project=project, respondent_id="new", text="a new answer")
    assert _load(project).key == first.key  # not embedded yet: nothing to add
    ResponseEmbedding.objects.create(response=added, model_name=embedding_model_name(), text_hash="h",
                                     vector=_vector(added.pk))
    grown = _load(project)
    assert grown.key != first.key and grown.ids[-1] == added.pk and len(grown) == 7
    _assert_matches_database(grown, project)
    project.responses.filter(pk=grown.ids[1]).delete()
    shrunk = _load(project)
    assert shrunk.key not in {first.key, grown.key} and len(shrunk) == 6 and grown.ids[1] not in shrunk.ids
    _assert_matches_database(shrunk, project)


@pytest.mark.django_db
def test_different_models_are_kept_apart():
    project = _project(4, model="model-a")
    extra = Response.objects.bulk_create(Response(project=project, respondent_id=f"B{i}", text=f"b {i}")
                                         for i in range(3))
    for r in extra:
        ResponseEmbedding.objects.create(response=r, model_name="org/model b", text_hash="h", vector=_vector(10**6 + r.pk))
    a, b = _load(project, "model-a"), _load(project, "org/model b")
    assert len(a) == 4 and len(b) == 3 and not set(a.ids) & set(b.ids)
    _assert_matches_database(a, project, "model-a")
    _assert_matches_database(b, project, "org/model b")
    assert es.embedding_store_folder(project.pk, "model-a") != es.embedding_store_folder(project.pk, "org/model b")
    assert es.embedding_store_folder(project.pk, "org/model b").parent == es.embedding_store_folder(project.pk, "model-a").parent
    other = _project(2)
    assert len(_load(other)) == 2 and len(_load(project)) == 0  # the configured model: none of the project's rows


@pytest.mark.django_db
def test_a_project_without_embeddings_gives_an_empty_store():
    store = _load(ProjectFactory())
    assert len(store) == 0 and store.rows_of([1]).tolist() == [-1]


@pytest.mark.django_db
def test_a_damaged_file_is_rebuilt_from_the_database():
    project = _project()
    store = _load(project)
    folder = es.embedding_store_folder(project.pk, embedding_model_name())
    (folder / f"{store.key}.vectors.npy").write_bytes(b"not a matrix")
    es._opened.clear()
    _assert_matches_database(_load(project), project)


def _chunks(version: int, n: int):  # type: ignore[no-untyped-def]
    """Store content of one version: n rows whose every value is the version (so a mix would show)."""
    ids = list(range(1, n + 1))
    stamp = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=version)
    for start in range(0, n, 7):
        part = ids[start:start + 7]
        yield part, [np.full(DIMS, version, dtype=np.float32).tobytes() for _ in part], [stamp] * len(part)


def _writer(folder: str, version: int, rounds: int) -> None:
    for _ in range(rounds):
        es.embedding_store_write(Path(folder), _chunks(version, 50 + version))


def test_a_failed_write_leaves_the_previous_files_and_no_temporary_ones(tmp_path):
    key = es.embedding_store_write(tmp_path, _chunks(1, 20))
    before = sorted(p.name for p in tmp_path.iterdir())

    def broken():  # type: ignore[no-untyped-def]
        yield from _chunks(2, 10)
        yield [100], [b"\0" * 5], [datetime(2026, 1, 1, tzinfo=UTC)]

    with pytest.raises(ValueError, match="sizes"):
        es.embedding_store_write(tmp_path, broken())
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert es._open(tmp_path, key) is not None


def test_concurrent_writers_never_show_a_reader_a_broken_or_mixed_store(tmp_path):
    """Two processes rewrite the folder with different contents over and over; a reader in this process
    always finds either no files for a key or complete files whose ids and rows belong together."""
    # Separate interpreters, not forks: a fork of this threaded process can deadlock, and a forked child that
    # outlives the test keeps the browser driver's pipe open, so the session would never end.
    script = ("import sys, django\n"
              "django.setup()\n"
              "from tests.modeling.test_store import _writer\n"
              "_writer(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))\n")
    env = {**os.environ, "THEMELOOP_DEV": "1", "DJANGO_SETTINGS_MODULE": "labeling_app.settings"}
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(version), "40"], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for version in (1, 2)]
    seen, deadline = set(), time.monotonic() + 120
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        for index in tmp_path.glob("*.index.npz"):
            key = index.name.split(".")[0]
            try:
                with np.load(index) as f:
                    ids = f["ids"]
                vectors = np.load(tmp_path / f"{key}.vectors.npy", mmap_mode="r")
            except FileNotFoundError:
                continue  # replaced by the other writer between listing and opening: allowed
            version = len(ids) - 50
            assert version in (1, 2) and vectors.shape == (len(ids), DIMS)
            assert (np.asarray(vectors) == version).all()
            seen.add(version)
    for w in writers:
        _, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
    assert seen  # the reader did look at files while they were written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


@pytest.mark.django_db(transaction=True)
def test_two_processes_rebuilding_at_once_leave_one_good_store(settings, tmp_path):
    project = _project(30)
    go = tmp_path / "go"
    script = ("import os, sys, time, django\n"
              "django.setup()\n"
              "from labeling_app.modeling.store import embedding_store_load\n"
              "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
              "s = embedding_store_load(project_id=int(sys.argv[2]), model_name=sys.argv[3])\n"
              "print(s.key, len(s))\n")
    env = {**os.environ, "DATABASE_URL": _database_url(connection.settings_dict), "THEMELOOP_DEV": "1",
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "DJANGO_SETTINGS_MODULE": "labeling_app.settings"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(go), str(project.pk), embedding_model_name()],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    time.sleep(3)  # both started Django and wait at the line
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    store = _load(project)
    assert {out.split()[0] for out, _ in outputs} == {store.key}
    _assert_matches_database(store, project)
    assert len(_files(project)) == 2
