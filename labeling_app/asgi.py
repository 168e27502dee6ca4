"""The production entry point: gunicorn with uvicorn workers serves this (docker-compose.yml's web command).

Under ASGI a project's event stream is a coroutine, so one worker holds many open pages; sync views still run,
each request in a thread of its own.
"""
import os
import sys
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
# Sync code runs in a fresh thread per request under ASGI: persistent database connections would pile up, one per
# finished thread, so Django's advice is to turn them off here (settings read CONN_MAX_AGE). A new connection per
# request cost more than the request itself on PostgreSQL, so requests borrow one from a pool per worker process
# instead (settings read DATABASE_POOL_SIZE; SQLite ignores it). 8 a process: two cores gain nothing from more
# queries at once, and a request waits for a free connection rather than failing.
os.environ.setdefault("CONN_MAX_AGE", "0")
os.environ.setdefault("DATABASE_POOL_SIZE", "8")
# vl-convert holds the GIL for the seconds a chart takes: a worker draws charts in a render process of its own
# (insights.services.chart_pool), so its event loop and other requests go on meanwhile.
os.environ.setdefault("CHART_RENDER_PROCESSES", "1")
# A short request waits for Python's lock each time it takes it back after a query or a socket write; beside a
# thread busy in Python (a chart's spec for 1,000 themes: 0.3-0.5 s) each wait lasted the default 5 ms switch
# interval, and a plain request took 0.30 s on an AMD EPYC. 1 ms: 0.14-0.18 s (tests/serving/test_chart_render.py).
sys.setswitchinterval(0.001)


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain run as one sync call per request.

    The stock handler runs each async-capable middleware's request and response hooks through their own
    sync_to_async hop, two thread switches per middleware: with ten middleware those switches took more CPU
    than the API views themselves (measured with py-spy under bench/load.py). Every middleware here is sync at
    heart, so the chain is entered once, in the request's thread; async views (the event stream) are still
    awaited on the event loop (Django runs them through async_to_sync) and their streams are sent from it.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain: Any = sync_to_async(self._middleware_chain, thread_sensitive=True)


django.setup(set_prefix=False)
application = SyncChainASGIHandler()
