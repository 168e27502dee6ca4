"""Shared fixtures: a project with one member of each role and an outsider, and a real Celery worker."""
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.test import APIClient

from labeling_app.models import Project, Role, Theme
from tests.factories import MembershipFactory, ProjectFactory, ResponseFactory, ThemeFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
NHS_DIR = ROOT.parent / "shared" / "data" / "nhs_fft"
PASSWORD = "pw-for-tests-1"


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


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A real `celery worker` process on the test database and the test Redis; stopped after the test."""
    from django.db import connection

    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["THEMELOOP_DEV"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "labeling_app", "worker", "-l", "warning", "-c", "1",
         "-P", "prefork", "-Q", "default,imports,embeddings,training", "--purge", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 60
    from labeling_app.celery import app

    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if any(f"test-{os.getpid()}@" in name for reply in replies for name in reply):
            break
        if proc.poll() is not None:
            pytest.fail("the Celery worker exited at start")
    else:
        proc.kill()
        pytest.fail("the Celery worker did not answer within 60 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
