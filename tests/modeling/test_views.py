"""The Model page's learning curve geometry and flags, without a browser (the browser test sorts the table)."""
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.views import _x_ticks

pytestmark = pytest.mark.django_db


def _version(project, number, count, per_theme=()):
    now = timezone.now()
    return ModelVersion.objects.create(
        project=project, number=number, status=ModelVersion.Status.READY, labelled_responses=count,
        micro_f1=0.5, macro_f1=0.3, per_theme=list(per_theme), finished_at=now, made_current_at=now)


def _page(prepare_project) -> str:
    client = Client()
    client.force_login(prepare_project.analyst)
    response = client.get(reverse("model", kwargs={"project_id": prepare_project.project.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_x_ticks_run_from_the_first_to_the_last_count() -> None:
    assert _x_ticks(50, 50) == [50]
    ticks = _x_ticks(50, 1000)
    assert ticks[0] == 50 and ticks[-1] == 1000 and ticks == sorted(set(ticks)) and len(ticks) >= 4
    assert all(t % 200 == 0 for t in ticks[1:-1])
    assert _x_ticks(120, 131)[0] == 120 and _x_ticks(120, 131)[-1] == 131


def test_one_version_is_a_point_mid_axis_and_old_flags_follow_the_rule(prepare_project) -> None:
    project = prepare_project.project
    stale = [{"theme": 1, "theme_name": "Weak", "support": 9, "precision": 0, "recall": 0, "f1": 0.0,
              "threshold": 0.3, "needs_more_examples": False},
             {"theme": 2, "theme_name": "Solid", "support": 80, "precision": 0.8, "recall": 0.8, "f1": 0.8,
              "threshold": 0.4, "needs_more_examples": True}]
    project.current_model = _version(project, 1, 75, stale)
    project.save(update_fields=["current_model"])
    html = _page(prepare_project)
    x_ticks = re.findall(r'<text class="tick" x="[\d.]+" y="[\d.]+" text-anchor="middle">(\d+)</text>', html)
    assert x_ticks == ["75"]
    assert len(re.findall(r"<circle ", html)) == 2
    rows = re.findall(r"<tr><td data-value=\"(\w+)\">.*?</tr>", html, flags=re.S)
    assert rows == ["weak", "solid"]
    weak, solid = html.split('data-value="weak"')[1].split('data-value="solid"')
    assert "needs more examples" in weak and "needs more examples" not in solid


def test_no_version_no_curve(prepare_project) -> None:
    html = _page(prepare_project)
    assert 'id="learning-curve"' not in html and "No model yet" in html
