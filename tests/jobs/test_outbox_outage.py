"""While Redis is down, a request that asks for a job answers at once (issue 26): the first failed send opens
this process's Redis breaker, later sends go straight to the outbox, and a probe closes the breaker when Redis
answers again; the jobs kept meanwhile reach the broker.

The production web command runs on its own Redis (a redis-server of this test, on a free port), which the test
stops and starts again, or on an address that takes connections and never answers; labels are submitted through
the API, as analysts' pages do. Before the breaker each such request took about 6 s (kombu reconnecting).
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from labeling_app.jobs.models import OutboxJob
from labeling_app.jobs.registry import TASK_RETRAIN
from labeling_app.labeling.models import Annotation
from labeling_app.projects.services.tokens import token_issue
from tests.conftest import _database_url
from tests.jobs.test_outbox import QUEUES, _sent
from tests.serving.test_production_server import (  # noqa: F401 (production_server is a fixture)
    gunicorn_argv,
    production_server,
    web_command,
    workers,
)
from tests.worker.test_outage import OwnRedis

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parent.parent.parent
BATCHES = 10
# What a request asking for a job may take while Redis is down (it took about 6 s, kombu's reconnecting).
OUTAGE_REQUEST_SECONDS = 0.3
SERVER_WORKERS = workers(gunicorn_argv(web_command()))


@pytest.fixture
def own_redis(monkeypatch, tmp_path):
    """The production server's Redis (REDIS_URL of the server started after this fixture)."""
    server = OwnRedis(tmp_path)
    server.start()
    monkeypatch.setenv("REDIS_URL", server.url)
    yield server
    server.stop()


def _submit(port: int, token: str, project_id: int, response_id: int, theme_id: int) -> tuple[int, float]:
    """One label batch through the API; the status and the seconds it took."""
    body = json.dumps([{"response": response_id, "themes": [theme_id]}])
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("POST", f"/api/projects/{project_id}/annotations/", body=body,
                     headers={"Content-Type": "application/json", "Authorization": f"Token {token}"})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    finally:
        conn.close()


def _sweep(redis_url: str) -> str:
    """One outbox sweep, as a worker's runs it, in a process on the server's Redis and the test database."""
    from django.db import connection

    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": _database_url(connection.settings_dict),
           "THEMELOOP_INSTANCE": settings.THEMELOOP_INSTANCE, "SECRET_KEY": settings.SECRET_KEY}
    code = "from labeling_app.jobs.services.outbox import jobs_outbox_send; print(jobs_outbox_send())"
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _outage_submits(port: int, p, token: str) -> list[float]:
    """BATCHES label batches while the server's Redis is away: each is saved and its job kept in the outbox;
    the seconds each request took."""
    responses = list(p.project.responses.order_by("pk"))
    answers = [_submit(port, token, p.project.pk, responses[i % len(responses)].pk, p.themes[i % 2].pk)
               for i in range(BATCHES)]
    seconds = [round(s, 3) for _, s in answers]
    print("seconds per request while Redis is away:", seconds)
    assert [status for status, _ in answers] == [201] * BATCHES
    # Each of the server's workers may pay for one failed call to Redis, bounded by its timeouts; every
    # later request skips Redis and answers at once.
    assert len([s for s in seconds if s >= OUTAGE_REQUEST_SECONDS]) <= SERVER_WORKERS, seconds
    assert max(seconds) < 5, seconds  # before: about 6 s each (refused), or the client gave up (a hung Redis)
    # Every label saved, every job kept: one outbox row per request, marked for the sweep.
    assert Annotation.objects.filter(response__project=p.project, is_current=True).count() == len(responses)
    kept = OutboxJob.objects.filter(key=OutboxJob.key_for(TASK_RETRAIN, {"project_id": p.project.pk}))
    assert kept.count() == BATCHES and not kept.filter(send_failed_at__isnull=True).exists()
    return seconds


def _warm(port: int, p, token: str) -> None:
    """Requests with Redis up first, so each server worker has answered one (a worker's first request imports)."""
    response = p.project.responses.order_by("pk").first()
    for _ in range(2 * SERVER_WORKERS):
        assert _submit(port, token, p.project.pk, response.pk, p.themes[0].pk)[0] == 201


def test_while_redis_is_down_label_batches_answer_at_once_and_their_jobs_wait_in_the_outbox(
        own_redis, prepare_project, production_server):  # noqa: F811
    p = prepare_project
    port = production_server
    token = token_issue(user=p.analyst).key
    responses = list(p.project.responses.order_by("pk"))
    _warm(port, p, token)

    own_redis.stop()
    _outage_submits(port, p, token)
    kept = OutboxJob.objects.filter(key=OutboxJob.key_for(TASK_RETRAIN, {"project_id": p.project.pk}))

    # Redis back: within a few seconds the server's probes close the breakers and a batch's job is sent at once.
    own_redis.start()
    deadline = time.monotonic() + 5
    while True:
        before = kept.count()
        assert _submit(port, token, p.project.pk, responses[0].pk, p.themes[1].pk)[0] == 201
        if kept.count() == before:  # the new request's row went: its job was sent
            break
        assert time.monotonic() < deadline, "the server still keeps new jobs in the outbox with Redis back"
        time.sleep(0.5)
    print("Redis back: a job was sent again after", round(5 - (deadline - time.monotonic()), 2), "s")

    # The jobs kept during the outage reach the broker: the workers' sweep sends them (rows of one job, one message).
    assert _sweep(own_redis.url) == "1"
    assert not OutboxJob.objects.exists()
    client = redis.Redis.from_url(own_redis.url)
    keys = [f"{settings.REDIS_KEY_PREFIX}{q}" for q in QUEUES]
    assert _sent(client, keys) == [("retrain", {"project_id": p.project.pk})] * 2


@pytest.fixture
def hung_redis(monkeypatch):
    """The production server's Redis is an address that takes connections and never answers (a hung host)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(256)
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
        yield


def test_a_redis_that_never_answers_costs_one_bounded_wait_per_server_worker(
        hung_redis, prepare_project, production_server):  # noqa: F811
    """Without the breaker every request would wait for the timeouts of each of its Redis calls."""
    p = prepare_project
    _outage_submits(production_server, p, token_issue(user=p.analyst).key)
