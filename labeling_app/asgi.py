"""The production entry point: gunicorn with uvicorn workers serves this (docker-compose.yml's web command).

Under ASGI a project's event stream is a coroutine, so one worker holds many open pages; sync views still run,
each in a thread of its own.
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
# Sync code runs in a fresh thread per request under ASGI: persistent database connections would pile up, one per
# finished thread, so Django's advice is to turn them off here (settings read CONN_MAX_AGE). A new connection per
# request cost more than the request itself on PostgreSQL, so requests borrow one from a pool per worker process
# instead (settings read DATABASE_POOL_SIZE; SQLite ignores it). 8 a process: two cores gain nothing from more
# queries at once, and a request waits for a free connection rather than failing.
os.environ.setdefault("CONN_MAX_AGE", "0")
os.environ.setdefault("DATABASE_POOL_SIZE", "8")
application = get_asgi_application()
