"""Chart files drawn by the production server (issue 26): vl-convert holds Python's lock while it draws, so the web
worker draws in a render process of its own (insights.services.chart_pool) and keeps answering meanwhile; a draw
past CHART_RENDER_TIMEOUT answers a clear 503 and the next chart is drawn by a fresh render process.

One worker process, so a stall of the worker that draws could not hide behind another worker answering instead.
"""
import csv
import http.client
import io
import json
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from labeling_app.importing.services import import_file_run
from labeling_app.projects.models import Project
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.serving.test_production_server import production_server_running

pytestmark = pytest.mark.worker

# A prevalence chart of this many themes takes seconds to draw (4 s on a developer's core), far over a request.
HEAVY_THEMES = 1000
PLAIN_SECONDS = 0.3  # the acceptance point: no plain request waits longer while a chart is drawn
DRAWN_SECONDS = 2.0  # the heavy chart must take at least this long, or the test would show nothing


def coded_project(name: str, themes: int) -> Project:
    """A project whose `themes` themes each code one response (imported as a user would)."""
    project = ProjectFactory(name=name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["respondent_id", "response", "theme"])
    writer.writerows([f"R{i}", f"Answer number {i}", f"Theme number {i} with a longer name"] for i in range(themes))
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("t.csv", out.getvalue().encode()))
    assert job.status == "succeeded", job.errors
    return project


def member_cookie(*projects: Project) -> str:
    user = UserFactory(username="charter")
    for project in projects:
        MembershipFactory(project=project, user=user)
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"


def fetch(port: int, path: str, cookie: str, timeout: float = 300) -> tuple[int, bytes, float]:
    """GET on a fresh connection: the status, the body and the seconds it took."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.monotonic() - start
    finally:
        conn.close()


def chart_path(project: Project, fmt: str = "png") -> str:
    return f"/api/projects/{project.pk}/insights/charts/prevalence.{fmt}"


def plain_requests_while(port: int, cookie: str, path: str) -> tuple[tuple[int, bytes, float], list[float]]:
    """Draws the chart at `path` while timing a plain request (the projects list) every 50 ms: the chart's answer
    and the plain requests' seconds."""
    drawn: list[tuple[int, bytes, float]] = []
    drawing = threading.Thread(target=lambda: drawn.append(fetch(port, path, cookie)))
    drawing.start()
    plain: list[float] = []
    while drawing.is_alive():
        status, _, seconds = fetch(port, "/api/projects/", cookie)
        assert status == 200
        plain.append(seconds)
        time.sleep(0.05)
    drawing.join()
    return drawn[0], plain


def test_a_chart_being_drawn_does_not_stall_other_requests(transactional_db, settings, tmp_path):
    project, small = coded_project("Many themes", HEAVY_THEMES), coded_project("Few themes", 3)
    cookie = member_cookie(project, small)
    # A time limit no loaded test machine reaches: this test is about the worker answering while a chart is drawn.
    with production_server_running(settings, tmp_path, workers=1, env={"CHART_RENDER_TIMEOUT": "300"}) as port:
        # A first small chart starts the worker's render process, so the heavy one below times drawing alone.
        assert fetch(port, chart_path(small), cookie)[0] == 200
        (status, body, seconds), plain = plain_requests_while(port, cookie, chart_path(project))
    assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n", body[:300]
    assert seconds >= DRAWN_SECONDS, f"the chart took only {seconds:.2f} s: too light to show a stall"
    slowest = max(plain)
    print(f"chart drawn in {seconds:.2f} s; {len(plain)} plain requests meanwhile, slowest {slowest:.3f} s")
    assert slowest < PLAIN_SECONDS, f"a plain request took {slowest:.2f} s while a chart was drawn for {seconds:.2f} s"


def test_a_chart_past_the_time_limit_answers_503_and_the_next_one_is_drawn(transactional_db, settings, tmp_path):
    heavy, small = coded_project("Many themes", HEAVY_THEMES), coded_project("Few themes", 3)
    cookie = member_cookie(heavy, small)
    with production_server_running(settings, tmp_path, workers=1, env={"CHART_RENDER_TIMEOUT": "2"}) as port:
        status, body, seconds = fetch(port, chart_path(heavy), cookie)
        assert status == 503, body[:300]
        assert json.loads(body)["message"].startswith("The chart took longer than 2 s to draw and was stopped")
        assert seconds < 30, f"the request hung for {seconds:.1f} s"
        # The stopped render process was replaced: the next chart is drawn (an SVG, well within the limit even on a
        # loaded machine, where the render process's low priority tells).
        status, body, _ = fetch(port, chart_path(small, "svg"), cookie)
        assert status == 200 and body.startswith(b"<svg"), body[:300]
