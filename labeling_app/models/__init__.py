"""ThemeLoop's data model, one module per concern."""
from labeling_app.models.annotations import Annotation
from labeling_app.models.imports import ImportJob
from labeling_app.models.projects import Membership, Project, Role
from labeling_app.models.responses import Response
from labeling_app.models.themes import Theme

__all__ = ["Annotation", "ImportJob", "Membership", "Project", "Response", "Role", "Theme"]
