"""What coders see of a lead's review: the comment on a response sent back to them."""
from collections.abc import Iterable

from labeling_app.labeling.models import Adjudication
from labeling_app.projects.models import Project


def review_notes_read(*, project: Project, response_ids: Iterable[int]) -> dict[int, dict]:
    """The lead's comment on each of the given responses that is sent back to its coders now (its current
    adjudication is a send-back): `{response_id: {"comment", "by", "at"}}`, in one query.

    Blind-safe: the lead's words, who and when, never a coder's themes.
    """
    ids = list(response_ids)
    if not ids:
        return {}
    rows = Adjudication.objects.filter(response__project=project, response_id__in=ids, is_current=True,
                                       kind=Adjudication.Kind.SEND_BACK).values_list(
        "response_id", "comment", "decided_by__username", "created_at")
    return {response_id: {"comment": comment, "by": by, "at": at} for response_id, comment, by, at in rows}
