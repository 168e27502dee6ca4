"""Shared fixtures: a project with one member of each role and an outsider, and a real Celery worker."""
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.test import APIClient

from labeling_app.projects.models import Project, Role
from labeling_app.themes.models import Theme
from tests.factories import MembershipFactory, ProjectFactory, ResponseFactory, ThemeFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
NHS_DIR = ROOT.parent / "shared" / "data" / "nhs_fft"
PASSWORD = "pw-for-tests-1"

# The app embeds with the backend measured fastest on its CPU (ml.embedding_choice); the tests pin one variant so
# what they expect of embeddings (clusters, neighbours) is the same on every CPU. The choice itself is tested in
# tests/ml/test_embedding_choice.py. Workers and servers the tests start inherit the environment.
os.environ.setdefault("EMBEDDING_BACKEND", "onnx-int8")
settings.EMBEDDING_BACKEND = os.environ["EMBEDDING_BACKEND"]


@dataclass
class PreparedProject:
    project: Project
    admin: AbstractBaseUser
    lead: AbstractBaseUser
    analyst: AbstractBaseUser
    analyst2: AbstractBaseUser
    outsider: AbstractBaseUser
    themes: list[Theme]

    def user(self, role: str) -> AbstractBaseUser:
        return getattr(self, role)

    def client(self, role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.user(role))
        return client


@pytest.fixture(autouse=True)
def _no_waiting_marks():
    """Each test starts with no "a retrain message waits" mark (services.jobs): ids come again from test to test,
    and a mark left by an earlier test, whose message was purged or never run, would hold this test's request."""
    from labeling_app.jobs.services.outbox import jobs_waiting_marks_clear

    jobs_waiting_marks_clear()


@pytest.fixture
def prepare_project(db) -> PreparedProject:
    """A project with an admin, a lead, two analysts, an outsider (admin of another project), themes, responses."""
    project = ProjectFactory(name="Cancellations")
    members = {
        role: MembershipFactory(project=project, user=UserFactory(username=name), role=role).user
        for name, role in [("alice-admin", Role.ADMIN), ("lee-lead", Role.LEAD), ("ana-analyst", Role.ANALYST)]
    }
    analyst2 = MembershipFactory(project=project, user=UserFactory(username="andy-analyst")).user
    outsider = UserFactory(username="oscar-outsider")
    MembershipFactory(project=ProjectFactory(name="Other project"), user=outsider, role=Role.ADMIN)
    themes = [ThemeFactory(project=project, name=n, shortcut=k) for n, k in [("Price", "1"), ("Delivery", "2")]]
    ResponseFactory.create_batch(3, project=project)
    return PreparedProject(project, members[Role.ADMIN], members[Role.LEAD], members[Role.ANALYST],
                           analyst2, outsider, themes)


DEMO_FILE = ROOT / "labeling_app" / "importing" / "demo_data" / "cancelling.csv"


@pytest.fixture(scope="session")
def demo_vectors() -> dict[str, bytes]:
    """Embeddings of the demo answers, computed once per test session with the app's model."""
    from labeling_app.importing.parser import parse_long_format
    from labeling_app.importing.readers import read_table
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from labeling_app.modeling.services.embeddings import _loaded_model
    from ml.embeddings import embed_texts

    parsed = parse_long_format(read_table(DEMO_FILE.read_bytes(), "demo.csv", max_bytes=10**8),
                               max_response_chars=20_000)
    texts = [r.text for r in parsed.respondents]
    vectors = embed_texts(_loaded_model(embedding_model_name()), texts)
    return {t: v.tobytes() for t, v in zip(texts, vectors, strict=True)}


def demo_project_make(owner_memberships: dict, demo_vectors: dict[str, bytes], *, keep_labels: int | None = None):
    """The demo survey as a project, embedded; with keep_labels, only that many responses keep their labels."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling_app.importing.services import import_file_run
    from labeling_app.labeling.models import Annotation
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from ml.embeddings import text_hash

    project = ProjectFactory(name="Loop Box churn")
    for user, role in owner_memberships.items():
        MembershipFactory(project=project, user=user, role=role)
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("demo.csv", DEMO_FILE.read_bytes()))
    assert job.status == "succeeded", job.message
    if keep_labels is not None:
        extra = Annotation.objects.filter(response__project=project).order_by("response_id")[keep_labels:]
        Annotation.objects.filter(pk__in=list(extra.values_list("pk", flat=True))).delete()
    ResponseEmbedding.objects.bulk_create(
        ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash=text_hash(r.text),
                          vector=demo_vectors[r.text])
        for r in project.responses.all()
    )
    return project


@pytest.fixture
def nhs_file() -> Path:
    path = NHS_DIR / "coded_responses.csv"
    if not path.is_file():
        pytest.skip("../shared/data/nhs_fft is not present")
    return path


def _database_url(settings_dict: dict) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"


def worker_start(settings, *, queues: str, name: str, log_level: str = "warning", stdout=None,
                 env: dict[str, str] | None = None, purge: bool = True, new_session: bool = False) -> subprocess.Popen:
    """A real `celery worker` process on the test database and the test Redis, answering pings when returned.

    `env` adds to (or overrides) the worker's environment, e.g. REDIS_URL for a Redis of the test's own.
    `purge=False` keeps what waits in the queues: a worker started again after another was lost.
    `new_session` starts it in a process group of its own, which a test can kill whole (os.killpg)."""
    from django.db import connection

    extra = env or {}
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["THEMELOOP_DEV"] = "1"
    # The test database's name differs from the one settings were built from: share this process's queues.
    env["THEMELOOP_INSTANCE"] = settings.THEMELOOP_INSTANCE
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "labeling_app", "worker", "-l", log_level, "-c", "1",
         "-P", "prefork", "-Q", queues, *(["--purge"] if purge else []), "-n", f"{name}@%h"],
        cwd=ROOT, env={**env, **extra}, stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
        start_new_session=new_session,
    )
    deadline = time.monotonic() + 60
    from labeling_app.celery import app

    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if any(f"{name}@" in n for reply in replies for n in reply):
            return proc
        if proc.poll() is not None:
            pytest.fail("the Celery worker exited at start")
    proc.kill()
    pytest.fail("the Celery worker did not answer within 60 s")


def worker_stop(proc: subprocess.Popen) -> None:
    """Stop a worker from `worker_start` (warm shutdown, then kill)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A real `celery worker` process on the test database and the test Redis, every queue; stopped after."""
    proc = worker_start(settings, queues="default,imports,embeddings,training", name=f"test-{os.getpid()}")
    yield proc
    worker_stop(proc)


@pytest.fixture
def analyst(db):
    """An analyst (a user with no membership yet: the tests that use it add it to their projects)."""
    return UserFactory(username="tess-analyst")
