"""Drawing a chart with vl-convert, and the loop of a render process (insights.services.chart_pool).

Imports nothing of Django: a render process is spawned, and loads only this module (and vl-convert).
"""
from __future__ import annotations

import os
from multiprocessing.connection import Connection
from typing import Any


def chart_draw(spec: dict, fmt: str) -> bytes:
    """A Vega-Lite spec drawn by vl-convert in this process (no browser, no network): PNG (2x scale) or SVG bytes.
    Holds the GIL throughout: the web server calls it only in a render process."""
    import vl_convert  # loads a JavaScript engine: only when a chart is drawn

    if fmt == "svg":
        return str(vl_convert.vegalite_to_svg(spec)).encode("utf-8")
    return bytes(vl_convert.vegalite_to_png(spec, scale=2))


def chart_draw_serve(conn: Connection, niceness: int) -> None:
    """A render process's life: at a lower priority, draws each (spec, format) it receives and answers (True, bytes)
    or (False, why), until the web process closes its end or dies."""
    os.nice(niceness)
    import vl_convert  # noqa: F401 (loaded before the first chart, not during it)

    try:
        conn.send((True, b"ready"))  # the first chart's time limit starts from here
    except OSError:
        return
    while True:
        try:
            spec, fmt = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any] = (True, chart_draw(spec, fmt))
        except Exception as exc:  # a spec vl-convert cannot draw: the web process raises it, this one goes on
            answer = (False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(answer)
        except OSError:
            return
