"""The labeling loop in the browser: keyboard-only labeling, a real worker retrains, open pages update live."""
import numpy as np
import pytest
from playwright.sync_api import expect

from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.predictions import predictions_of, suggestions_for_responses
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def _shown_probabilities(page) -> dict[str, str]:
    toggles = page.locator("#theme-toggles button[data-probability]")
    return {toggles.nth(i).get_attribute("data-theme"): toggles.nth(i).get_attribute("data-probability")
            for i in range(toggles.count())}


@pytest.fixture
def trained(transactional_db, demo_vectors):  # type: ignore[no-untyped-def]
    """The demo project with 150 labels and its first model, made before the worker starts: a worker already
    running would take the import's embedding run and retrain on its own, racing the setup's v1."""
    analyst = UserFactory(username="lara-analyst")
    watcher = UserFactory(username="wes-analyst")
    project = demo_project_make({analyst: Role.ANALYST, watcher: Role.ANALYST}, demo_vectors, keep_labels=150)
    v1 = training_run(project_id=project.pk, task_id="setup")
    assert v1.status == ModelVersion.Status.READY
    return project, analyst, watcher, v1


def test_keyboard_labeling_and_live_model_updates(trained, live_server, celery_worker_process, new_page):
    project, analyst, watcher, v1 = trained
    themes = {t.shortcut: t for t in project.themes.all()}

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    other = new_page()
    login(other, live_server, watcher.username, PASSWORD)
    other.goto(f"{live_server.url}/projects/{project.pk}/model/")
    for p in (page, other):
        expect(p.locator("#model-badge")).to_have_attribute("data-version", "1")
        expect(p.locator("#model-badge")).to_contain_text("v1 · 150 labels")

    card = page.locator("#response-card")
    expect(page.locator("#labeling")).to_have_attribute("data-state", "ready")
    # Theme keys per response; a key pressed twice toggles its theme off again.
    presses = [["1", "3"], ["2"], ["1", "4", "4"], ["2", "3"], ["5"], ["1", "2", "1"], ["3"], ["4", "1"],
               ["2"], ["5", "6"]][: project.labeling_batch_size]
    served = []
    for keys in presses:
        served.append(int(card.get_attribute("data-response")))
        for key in keys:
            page.keyboard.press(key)
        page.keyboard.press("Enter")
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#status-line")).to_contain_text(f"Saved {project.labeling_batch_size}")

    # No reload: the new version arrives through the event stream on both pages.
    for p in (page, other):
        expect(p.locator("#model-badge")).to_have_attribute("data-version", "2", timeout=60_000)
    expect(page.locator("#model-badge")).to_contain_text(f"v2 · {150 + project.labeling_batch_size} labels")
    expect(card).to_have_attribute("data-suggestions-version", "2")

    v2 = project.model_versions.get(number=2)
    shown_id = int(card.get_attribute("data-response"))
    shown = _shown_probabilities(page)
    project.refresh_from_db()
    assert project.current_model == v2
    expected = {str(s["theme"]): s["probability"] for s in
                suggestions_for_responses(project=project, response_ids=[shown_id])[shown_id]}
    assert {k: round(float(v), 4) for k, v in shown.items()} == expected
    before, after = predictions_of(version=v1), predictions_of(version=v2)
    row = before.rows([shown_id])[shown_id]
    assert not np.allclose(before.probabilities[row], after.probabilities[row])  # the model really changed

    # What was typed is what was saved.
    for keys, response_id in zip(presses, served, strict=True):
        want: set[int] = set()
        for key in keys:
            want ^= {themes[key].pk}
        annotation = analyst.annotations.get(response_id=response_id, is_current=True)
        assert set(annotation.themes.values_list("pk", flat=True)) == want, keys
