"""Job progress in the cache: clamped to 0-100, per job and kind."""
from labeling_app.core.progress import progress_get, progress_set


def test_progress_is_kept_per_job_and_clamped():
    progress_set(kind="import", job_id=987001, percent=40)
    progress_set(kind="embeddings", job_id=987001, percent=140)
    assert progress_get(kind="import", job_id=987001) == 40
    assert progress_get(kind="embeddings", job_id=987001) == 100
    progress_set(kind="import", job_id=987001, percent=-5)
    assert progress_get(kind="import", job_id=987001) == 0
    assert progress_get(kind="import", job_id=987002, default=7) == 7
