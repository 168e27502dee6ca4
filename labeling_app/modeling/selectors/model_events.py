"""What pages and event streams show of a project's model: a version's badge, the current model event, the
configuration every live page's script starts from."""
from typing import Any

from labeling_app.labeling.selectors.sentiment import SENTIMENT_NAMES
from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project


def model_version_payload(version: ModelVersion | None) -> dict[str, Any] | None:
    """What a page needs to show a model version in its status badge."""
    if version is None:
        return None
    return {
        "version": version.number,
        "status": version.status,
        "labelled_responses": version.labelled_responses,
        "labels": version.labels_used,
        "micro_f1": version.micro_f1,
        "macro_f1": version.macro_f1,
        "quality_interval": version.quality_interval or None,
        "sentiment_quality": version.sentiment_quality or None,
        "made_current_at": version.made_current_at.isoformat() if version.made_current_at else None,
    }


def model_event_current(*, project_id: int) -> dict[str, Any]:
    """The model event for the project's current model, as read from the database now."""
    project = Project.objects.select_related("current_model").get(pk=project_id)
    return {"type": "model", "project": project.pk, "model": model_version_payload(project.current_model)}


def live_page_config(project: Project, **extra: object) -> dict:
    """What every live page's script needs: the project, its live themes, the current model, where to ask."""
    return {
        "project": project.pk,
        "themes": [{"id": t.pk, "name": t.name, "colour": t.colour, "shortcut": t.shortcut, "code": t.code,
                    "net": t.net_id, "description": t.description} for t in project.themes.filter(archived=False)],
        # The codeframe's upper level, in its order: the Label page groups the toggles under them.
        "nets": [{"id": n.pk, "name": n.name, "code": n.code} for n in project.nets.all()],
        # Sentiment coded beside the themes: its levels' names, 1 = most positive ({} when not coded).
        "sentiment": SENTIMENT_NAMES.get(project.sentiment_levels, {}),
        "model": model_version_payload(project.current_model),
        "api": f"/api/projects/{project.pk}/",
        "events": f"/projects/{project.pk}/events/",
        **extra,
    }
