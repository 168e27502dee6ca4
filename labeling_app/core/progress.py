"""Progress of long jobs, kept in the cache so it is visible while the job's transaction is open."""
from django.core.cache import cache

TTL_SECONDS = 24 * 3600


def progress_set(*, kind: str, job_id: int, percent: int) -> None:
    """Record how far job `job_id` of `kind` has got (0-100)."""
    cache.set(f"progress:{kind}:{job_id}", max(0, min(100, int(percent))), TTL_SECONDS)


def progress_get(*, kind: str, job_id: int, default: int = 0) -> int:
    """The last recorded progress of a job, or `default` when none was recorded."""
    value = cache.get(f"progress:{kind}:{job_id}")
    return default if value is None else int(value)
