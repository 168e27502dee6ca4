"""Reads of a project's theme set as a codeframe: its codes with their numbers, under their nets."""
from dataclasses import dataclass

from labeling_app.projects.models import Project
from labeling_app.themes.models import Net, Theme

CODEFRAME_COLUMNS = ("code", "net_code", "net", "name", "description", "key", "archived", "replaced_by")


@dataclass(frozen=True)
class CodeframeRow:
    """One code of a codeframe file. `code` None: the next free number (a hand-made file may leave it blank)."""

    code: int | None
    net_code: int | None
    net: str
    name: str
    description: str = ""
    key: str = ""
    archived: bool = False
    replaced_by: str = ""

    def cells(self) -> list[object]:
        """The row as the file writes it, in CODEFRAME_COLUMNS' order."""
        return [self.code, self.net_code if self.net else None, self.net, self.name, self.description, self.key,
                "yes" if self.archived else "", self.replaced_by]


def codeframe_rows(*, project: Project) -> list[CodeframeRow]:
    """Every code of the project (archived ones too, so numbers are never reused by a file), in the theme
    set's order."""
    themes = Theme.objects.filter(project=project).select_related("net").order_by("order", "pk")
    return [CodeframeRow(code=t.code, net_code=t.net.code if t.net else None, net=t.net.name if t.net else "",
                         name=t.name, description=t.description, key=t.shortcut, archived=t.archived,
                         replaced_by=t.replaced_by) for t in themes]


def nets_of_project(*, project: Project) -> list[Net]:
    """The project's nets in their order."""
    return list(Net.objects.filter(project=project).order_by("order", "pk"))
