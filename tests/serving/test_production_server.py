"""The production web command (docker-compose.yml's web service) with many open event streams.

Runs the gunicorn part of that exact command on the test database and Redis: 30 pages' event streams stay open
(holding no database connection) while ordinary pages and static files still answer fast, every stream gets a
published event, and a closed stream's server side ends (its Redis subscription goes away).
"""
import contextlib
import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings
from django.test import Client
from django.utils import timezone

from labeling_app.live.services import project_channel
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.services.model_events import model_event_publish
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import _database_url
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parent.parent.parent
STREAMS = 30
PAGE_SECONDS = 1.0


def web_command() -> str:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]


def gunicorn_argv(command: str) -> list[str]:
    """The gunicorn invocation inside the web service's `sh -c "migrate && exec gunicorn ..."`."""
    argv = shlex.split(command)
    assert argv[:2] == ["sh", "-c"], argv
    for step in argv[2].split("&&"):
        words = shlex.split(step)
        if words[:1] == ["exec"]:
            words = words[1:]
        if words[:1] == ["gunicorn"]:
            return words
    raise AssertionError(f"no gunicorn in the web command: {command}")


def with_bind(argv: list[str], address: str) -> list[str]:
    """`argv` listening on `address` instead of the container's port."""
    out, skip = [], False
    for word in argv:
        if skip:
            out.append(address)
            skip = False
        elif word in ("--bind", "-b"):
            out.append(word)
            skip = True
        elif word.startswith("--bind="):
            out.append(f"--bind={address}")
        else:
            out.append(word)
    assert address in out, f"the web command has no --bind: {argv}"
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, cookie: str) -> tuple[int, float]:
    """GET on a fresh connection: the status and the seconds it took."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    finally:
        conn.close()


class EventStream:
    """One page's EventSource, by hand: reads server-sent event frames off an open connection."""

    def __init__(self, port: int, path: str, cookie: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        self.conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.status
        assert self.response.getheader("Content-Type") == "text/event-stream"
        self.buffer = b""

    def frame(self) -> str:
        while b"\n\n" not in self.buffer:
            chunk = self.response.read1(65536)
            if not chunk:
                raise EOFError("the stream ended")
            self.buffer += chunk
        frame, self.buffer = self.buffer.split(b"\n\n", 1)
        return frame.decode()

    def event(self) -> dict:
        """The next event's data, skipping keep-alive comments."""
        while True:
            frame = self.frame()
            if not frame.startswith(":"):
                name, data = frame.split("\n")
                assert name.startswith("event: ") and data.startswith("data: "), frame
                return json.loads(data.removeprefix("data: "))

    def close(self) -> None:
        self.conn.close()


POOL_SIZE = 2


def workers(argv: list[str]) -> int:
    """The web command's number of worker processes."""
    for i, word in enumerate(argv):
        if word in ("--workers", "-w"):
            return int(argv[i + 1])
        if word.startswith("--workers="):
            return int(word.split("=", 1)[1])
    return 1


# The production server's database connections carry this name, so other tests' threads (a live server
# still running from the browser tests) are not counted as its own.
SERVER_APPLICATION = "themeloop-production-test"


def server_database_connections() -> int | None:
    """The production server's connections to the test database; None on SQLite (no server to ask)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND application_name = %s", [SERVER_APPLICATION])
        return cursor.fetchone()[0]


def subscribers(client: redis.Redis, project_id: int) -> int:
    return dict(client.pubsub_numsub(project_channel(project_id)))[project_channel(project_id).encode()]


def with_workers(argv: list[str], count: int) -> list[str]:
    """`argv` with `count` worker processes instead of the web command's."""
    out = [word for i, word in enumerate(argv) if not (word in ("--workers", "-w") or word.startswith("--workers=")
                                                       or (i and argv[i - 1] in ("--workers", "-w")))]
    return [*out, "--workers", str(count)]


@contextlib.contextmanager
def production_server_running(settings, tmp_path: Path, *, workers: int | None = None,
                              env: dict[str, str] | None = None) -> Iterator[int]:
    """The web command's gunicorn, on a free port, the test database and this test's Redis channels (optionally
    with `workers` processes and more environment); yields its port. Needs a transactional database."""
    from django.db import connection

    port = free_port()
    argv = with_bind(gunicorn_argv(web_command()), f"127.0.0.1:{port}")
    if workers is not None:
        argv = with_workers(argv, workers)
    server_env = dict(os.environ)
    server_env.update({
        "DATABASE_URL": _database_url(connection.settings_dict) + (
            f"?application_name={SERVER_APPLICATION}" if connection.vendor == "postgresql" else ""),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # The test database's name differs from the one settings were built from: share this process's channels.
        "THEMELOOP_INSTANCE": settings.THEMELOOP_INSTANCE,
        # Sessions made here are checked there against this key.
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        # A small pool (labeling_app/asgi.py's default is larger), so the bound on connections below is tight.
        "DATABASE_POOL_SIZE": str(POOL_SIZE),
        **(env or {}),
    })
    server_env.pop("THEMELOOP_DEV", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, env=server_env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited at start:\n{log_path.read_text()}")
            try:
                if get(port, "/login/", "")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within 60 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(log_path.read_text()[-5000:])


@pytest.fixture
def production_server(transactional_db, settings, tmp_path):
    """The web command's gunicorn, on a free port, the test database and this test's Redis channels."""
    with production_server_running(settings, tmp_path) as port:
        yield port


def test_dockerfile_runs_the_same_command_as_compose():
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert json.loads(cmd.removeprefix("CMD ")) == shlex.split(web_command())


def test_compose_has_no_default_secret_key():
    """docker-compose must refuse to start without a SECRET_KEY rather than run with a public one."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    compose = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it)")
    refused = subprocess.run(compose, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr
    assert subprocess.run(compose, env={**env, "SECRET_KEY": "x" * 50}, capture_output=True).returncode == 0


def member_session(project_name: str) -> tuple:
    """A project, a member of it, and that member's session id."""
    user = UserFactory(username="watcher")
    project = ProjectFactory(name=project_name)
    MembershipFactory(project=project, user=user)
    client = Client()
    client.force_login(user)
    return project, client.cookies[settings.SESSION_COOKIE_NAME].value


def test_many_open_streams_do_not_starve_pages(production_server):
    port = production_server
    project, session = member_session("Streams")
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}"
    events_path = f"/projects/{project.pk}/events/"
    redis_client = redis.Redis.from_url(settings.REDIS_URL)

    def connect(_: int) -> tuple[EventStream, str, dict]:
        stream = EventStream(port, events_path, cookie)
        return stream, stream.frame(), stream.event()

    # Sync workers (3 of them) would hang from the fourth stream on.
    with ThreadPoolExecutor(STREAMS) as pool:
        opened = list(pool.map(connect, range(STREAMS)))
    streams = [s for s, _, _ in opened]
    try:
        assert {retry for _, retry, _ in opened} == {"retry: 1000"}
        assert all(first == {"type": "model", "project": project.pk, "model": None} for _, _, first in opened)
        assert subscribers(redis_client, project.pk) == STREAMS

        for path in ["/projects/", f"/projects/{project.pk}/", "/static/themeloop/live/live.js"]:
            status, seconds = get(port, path, cookie)
            assert status == 200, path
            assert seconds < PAGE_SECONDS, f"{path} took {seconds:.2f} s with {STREAMS} streams open"

        # Open pages hold no database connection (PostgreSQL would run out of them at max_connections): what the
        # server holds is its pools' idle connections, at most POOL_SIZE a worker however many streams are open.
        held = server_database_connections()
        limit = POOL_SIZE * workers(gunicorn_argv(web_command()))
        assert held is None or held <= limit < STREAMS, f"{held} database connections held with {STREAMS} streams open"

        version = ModelVersion.objects.create(project=project, number=1, status=ModelVersion.Status.READY,
                                              labelled_responses=12, labels_used=2)
        model_event_publish(version=version)
        received = [stream.event() for stream in streams]
        assert all(e["type"] == "model" and e["model"]["version"] == 1 for e in received)
    finally:
        for stream in streams:
            stream.close()

    # A page that went away frees its stream: the server cancels it and its subscription closes.
    deadline = time.monotonic() + 10
    while subscribers(redis_client, project.pk) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert subscribers(redis_client, project.pk) == 0


def test_a_connection_kept_alive_takes_the_next_request_after_a_pause(production_server):
    """A client waiting a few seconds between two requests on one connection is answered, not reset.

    gunicorn's default keep-alive (2 s, which uvicorn workers take over) closed the connection just as such a
    client sent its next request: one request in a few thousand of bench/load.py's analysts failed that way.
    """
    conn = http.client.HTTPConnection("127.0.0.1", production_server, timeout=10)
    try:
        for _ in range(2):
            conn.request("GET", "/login/")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            time.sleep(3)
    finally:
        conn.close()


@pytest.mark.browser
def test_a_page_follows_the_model_live_from_the_production_server(production_server, new_page):
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{production_server}"
    project, session = member_session("Live badge")
    page = new_page()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
    page.goto(f"{base}/projects/{project.pk}/model/")
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    badge = page.locator("#model-badge")
    expect(badge).to_have_text("no model yet")

    # Published once the page's stream listens, so the badge can only change through the published event.
    deadline = time.monotonic() + 10
    while not subscribers(redis.Redis.from_url(settings.REDIS_URL), project.pk) and time.monotonic() < deadline:
        time.sleep(0.1)
    version = ModelVersion.objects.create(project=project, number=1, status=ModelVersion.Status.READY,
                                          labelled_responses=12, labels_used=2, micro_f1=0.61,
                                          made_current_at=timezone.now())
    project.current_model = version
    project.save(update_fields=["current_model"])
    model_event_publish(version=version)
    # The model page reloads itself on a new version; the badge shows it before and after that reload.
    expect(badge).to_have_attribute("data-version", "1")
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("current")
    expect(badge).to_contain_text("v1 · 12 labels · micro F1 0.61")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "production-server-live-badge.png"))
