"""A ready model version with chosen probabilities and thresholds, made current: no training needed."""
import numpy as np
from django.utils import timezone

from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project


def model_version_make(*, project: Project, probabilities: dict[int, list[float]], theme_ids: list[int],
                       thresholds: list[float], number: int = 1) -> ModelVersion:
    """Store `probabilities` ({response id: one value per theme id}) as the project's current version."""
    response_ids = sorted(probabilities)
    matrix = np.asarray([probabilities[r] for r in response_ids], dtype=np.float16)
    version = ModelVersion.objects.create(
        project=project, number=number, status=ModelVersion.Status.READY, labelled_responses=10, labels_used=10,
        micro_f1=0.5, macro_f1=0.4, response_ids=np.asarray(response_ids, dtype=np.int64).tobytes(),
        probabilities=matrix.tobytes(), theme_ids=theme_ids, thresholds=thresholds, made_current_at=timezone.now(),
    )
    project.current_model = version
    project.save(update_fields=["current_model"])
    return version
