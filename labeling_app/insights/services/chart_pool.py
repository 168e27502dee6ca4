"""Charts drawn off the web server: a small pool of render processes owned by the insights package.

vl-convert holds Python's lock (the GIL) for the whole of a draw, 13.8 s for one large PNG: drawn in a web worker,
it stalled that worker's event loop and every other request it served. Here a draw runs in a process of its own:

- spawned, not forked, so it carries none of the web worker's threads, connections or locks;
- started lazily in the process that draws, and made again when that process's id changed (a pool made before
  gunicorn forks its workers is never used by them);
- at a lower priority (``os.nice``), so the web server keeps its cores while a chart is drawn;
- killed and replaced when a draw runs past CHART_RENDER_TIMEOUT, or when it died: the request gets
  ChartRenderUnavailable (a 503 with a readable message) instead of hanging.

CHART_RENDER_PROCESSES sets the pool's size: 1 in the web server (labeling_app/asgi.py), 0 elsewhere, where the
chart is drawn in the calling process (Celery workers have their own processes and time limits; commands; tests).
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from django.conf import settings

from labeling_app.core.http.errors import UnavailableError
from labeling_app.insights.services.chart_draw import chart_draw_serve

# How much the render process lowers its own priority (19 is the lowest): the web server's requests come first.
RENDER_NICENESS = 10
# How long a new render process may take to start (load vl-convert) before its first chart's time limit begins.
RENDER_START_SECONDS = 60


class ChartRenderUnavailable(UnavailableError):
    """No chart now: the draw ran past CHART_RENDER_TIMEOUT, its process died, or every render process stayed busy
    as long. The message says so in words a user can act on."""


class _Renderer:
    """One render process and the web process's end of its pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=chart_draw_serve, args=(child, RENDER_NICENESS), daemon=True,
                                                    name="chart-render")
        self.process.start()
        child.close()
        self.ready = False

    def draw(self, spec: dict, fmt: str, timeout: float) -> tuple[bool, Any]:
        """(True, the chart's bytes) or (False, why vl-convert refused the spec), drawn within `timeout` seconds."""
        wait = timeout
        try:
            if not self.ready:
                started = time.monotonic()
                if not self.conn.poll(RENDER_START_SECONDS):
                    raise ChartRenderUnavailable("The chart renderer did not start; ask again in a moment.")
                self.ready = self.conn.recv()[0]
                wait += time.monotonic() - started  # starting is not drawing
            self.conn.send((spec, fmt))
            if not self.conn.poll(wait):
                raise ChartRenderUnavailable(
                    f"The chart took longer than {timeout:g} s to draw and was stopped; "
                    "try a narrower selection (fewer themes or filters), or ask again in a moment.")
            return self.conn.recv()
        except (EOFError, OSError):  # the process died while drawing (killed, out of memory)
            raise ChartRenderUnavailable("The chart renderer stopped while drawing this chart; ask again in a "
                                         "moment.") from None

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


class ChartRenderPool:
    """CHART_RENDER_PROCESSES render processes of one web process; each draws one chart at a time."""

    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self.idle: queue.Queue[_Renderer] = queue.Queue()
        for _ in range(size):
            self.idle.put(_Renderer())

    def render(self, spec: dict, fmt: str, timeout: float) -> bytes:
        """The chart drawn by the first free render process: waiting at most `timeout` seconds for one (all busy
        drawing others' charts), then at most `timeout` seconds for the draw."""
        try:
            renderer = self.idle.get(timeout=timeout)
        except queue.Empty:
            raise ChartRenderUnavailable("Other charts are being drawn; ask again in a moment.") from None
        try:
            if not renderer.process.is_alive():  # died while idle
                renderer.stop()
                renderer = _Renderer()
            ok, value = renderer.draw(spec, fmt, timeout)
        except BaseException:
            # Timed out, died or interrupted: a process in an unknown state is never handed back.
            renderer.stop()
            renderer = _Renderer()
            raise
        finally:
            self.idle.put(renderer)
        if not ok:
            raise RuntimeError(f"vl-convert could not draw the chart: {value}")
        return value


_pool: ChartRenderPool | None = None
_pool_lock = threading.Lock()


def chart_pool_get() -> ChartRenderPool:
    """This process's pool, started on first use (and again in a forked child, whose parent's pool is not its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = ChartRenderPool(max(1, settings.CHART_RENDER_PROCESSES))
        return _pool


def chart_pool_render(spec: dict, fmt: str) -> bytes:
    """The chart drawn in a render process of this process's pool, within CHART_RENDER_TIMEOUT seconds
    (ChartRenderUnavailable past it: the process is killed and replaced)."""
    return chart_pool_get().render(spec, fmt, float(settings.CHART_RENDER_TIMEOUT))
