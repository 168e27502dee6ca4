"""The modeling package's Celery tasks (imported by Celery's autodiscovery)."""
from labeling_app.modeling.tasks import embeddings, training

__all__ = ["embeddings", "training"]
