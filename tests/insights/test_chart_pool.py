"""The render processes that draw chart files in the web server (insights.services.chart_pool): real processes,
spawned lazily, at a lower priority, replaced when they die, and made anew in a forked child."""
import os
import signal
import time

import pytest

from labeling_app.insights.services import chart_pool
from labeling_app.insights.services.charts import chart_render, prevalence_chart_build

PNG = b"\x89PNG\r\n\x1a\n"


def small_spec() -> dict:
    themes = [{"theme": name, "theme_id": i, "count": 3 - i, "share": (3 - i) / 4, "ci_low": 0.1, "ci_high": 0.9}
              for i, name in enumerate(["Price", "Delivery", "Recipes"])]
    return prevalence_chart_build({"respondents": 4, "themes": themes})


@pytest.fixture
def pooled(settings):
    settings.CHART_RENDER_PROCESSES = 1
    settings.CHART_RENDER_TIMEOUT = 60
    return chart_pool.chart_pool_get()


def render_process(pool: chart_pool.ChartRenderPool) -> int:
    """The pid of the pool's (one) render process, left in the pool."""
    renderer = pool.idle.get()
    pool.idle.put(renderer)
    assert renderer.process.pid is not None
    return renderer.process.pid


def test_a_chart_is_drawn_in_a_render_process_of_lower_priority(pooled):
    assert chart_render(small_spec(), "png")[:8] == PNG
    assert chart_render(small_spec(), "svg").startswith(b"<svg")
    pid = render_process(pooled)
    assert pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0)
                                                       + chart_pool.RENDER_NICENESS)


def test_a_render_process_that_died_is_replaced(pooled):
    assert chart_render(small_spec(), "png")[:8] == PNG
    dead = render_process(pooled)
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pooled.idle.queue[0].process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert chart_render(small_spec(), "png")[:8] == PNG
    assert render_process(pooled) != dead


def test_a_forked_child_draws_with_a_pool_of_its_own(pooled):
    assert chart_render(small_spec(), "png")[:8] == PNG
    parents = render_process(pooled)
    child = os.fork()
    if child == 0:  # gunicorn's preload: a worker forked from a process that had drawn already
        try:
            drawn = chart_render(small_spec(), "png")
            own = chart_pool.chart_pool_get()
            os._exit(0 if drawn[:8] == PNG and own is not pooled and render_process(own) != parents else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's render process was not disturbed by the child.
    assert chart_render(small_spec(), "png")[:8] == PNG
    assert render_process(pooled) == parents
