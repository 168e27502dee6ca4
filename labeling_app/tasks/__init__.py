"""Celery tasks: thin wrappers that take ids and call one service."""
from labeling_app.tasks import imports

__all__ = ["imports"]
