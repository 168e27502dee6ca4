"""Which wave of the question each response came in (its `wave` column, which an import marked as a wave fills)."""
from labeling_app.projects.models import Project, Response

WAVE_COLUMN = "wave"


def response_waves(*, project: Project) -> dict[int, str]:
    """Response id -> its wave, for the responses that have one."""
    # Only the key, only where it is (every retrain asks): not each response's whole metadata.
    rows = Response.objects.filter(project=project, metadata__has_key=WAVE_COLUMN).values_list(
        "pk", f"metadata__{WAVE_COLUMN}").order_by("pk")
    out: dict[int, str] = {}
    for pk, value in rows.iterator(chunk_size=5000):
        text = "" if value is None else str(value).strip()
        if text:
            out[pk] = text
    return out


def wave_latest(*, waves: dict[int, str]) -> str | None:
    """The newest wave of a project's `response_waves` (the wave of its most recently added response), when it has
    two or more; None otherwise (one wave is no new wave)."""
    if len(set(waves.values())) < 2:
        return None
    return waves[max(waves)]
