from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling_app.exporting.file_sets import FILE_SETS, export_files_render
from labeling_app.exporting.services import FORMATS, ReportPrintError, export_options_parse, export_render
from labeling_app.insights.selectors.insights import insights_scope_from_params
from labeling_app.projects.selectors.projects import project_find_by_name


class Command(BaseCommand):
    help = ("Export a project's coded responses as CSV (long/wide), XLSX (a sheet per insights view), the client "
            "report (HTML/PDF), SPSS (FILE.sav and FILE.sps) or Triple-S XML (FILE.sss and FILE.asc), under the "
            "insights filters.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the file to write; sav and triple-s write two files beside it, "
                            "named after it: OUT.sav and OUT.sps, OUT.sss and OUT.asc")
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--format", default="csv", choices=[*FORMATS, *FILE_SETS])
        parser.add_argument("--source", default="human", choices=["human", "model"],
                            help="human: resolved labels only; model: plus the current model's estimates")
        parser.add_argument("--meta", action="append", default=[], help="KEY:VALUE metadata filter (repeatable)")
        parser.add_argument("--date-field", help="date column for --date-from/--date-to (and trends)")
        parser.add_argument("--date-from", help="yyyy-mm-dd")
        parser.add_argument("--date-to", help="yyyy-mm-dd")
        parser.add_argument("--segment", help="metadata column to compare segments by (XLSX, report)")
        parser.add_argument("--score", help="numeric column for drivers (default: every numeric column)")
        parser.add_argument("--period", default="month", choices=["week", "month"], help="trends period (XLSX)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            project = project_find_by_name(name=options["project"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if project is None:
            raise CommandError(f"no project named {options['project']!r}")
        params: dict[str, str | list[str]] = {"meta": options["meta"]}
        for key in ("source", "date_field", "date_from", "date_to", "segment", "score", "period"):
            if options.get(key):
                params[key] = options[key]
        path: Path = options["file"]
        fmt = options["format"]
        try:
            scope = insights_scope_from_params(project=project, params=params)
            if fmt in FILE_SETS:
                files = {path.with_name(name): data
                         for name, data in export_files_render(scope=scope, fmt=fmt, stem=path.stem).items()}
            else:
                files = {path: export_render(scope=scope, fmt=fmt, options=export_options_parse(params))}
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except ReportPrintError as exc:  # the command prints the PDF itself (no worker): Chromium's failure, in words
            raise CommandError(str(exc)) from exc
        for target, data in files.items():
            target.write_bytes(data)
            self.stdout.write(f"wrote {len(data):,} bytes to {target}")
