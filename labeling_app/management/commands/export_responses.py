from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling_app.models import Project
from labeling_app.services.exports import FORMATS, export_render, export_scope_from_params


class Command(BaseCommand):
    help = "Export a project's coded responses (resolved human labels) as CSV (long/wide) or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--format", default="csv", choices=list(FORMATS))
        parser.add_argument("--meta", action="append", default=[], help="KEY:VALUE metadata filter (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"no project named {options['project']!r}")
        try:
            scope = export_scope_from_params(project=project, params={"meta": options["meta"]})
            data = export_render(scope=scope, fmt=options["format"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        path: Path = options["file"]
        path.write_bytes(data)
        self.stdout.write(f"wrote {len(data):,} bytes to {path}")
