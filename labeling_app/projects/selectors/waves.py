"""Which wave of the question each response came in (its `wave` column, which an import marked as a wave fills)."""
from labeling_app.projects.models import Project, Response

WAVE_COLUMN = "wave"


def response_waves(*, project: Project) -> dict[int, str]:
    """Response id -> its wave, for the responses that have one."""
    out: dict[int, str] = {}
    rows = Response.objects.filter(project=project).values_list("pk", "metadata").order_by("pk")
    for pk, metadata in rows.iterator(chunk_size=5000):
        value = str((metadata or {}).get(WAVE_COLUMN, "")).strip()
        if value:
            out[pk] = value
    return out


def wave_latest(*, waves: dict[int, str]) -> str | None:
    """The newest wave of a project's `response_waves` (the wave of its most recently added response), when it has
    two or more; None otherwise (one wave is no new wave)."""
    if len(set(waves.values())) < 2:
        return None
    return waves[max(waves)]
