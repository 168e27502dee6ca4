from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling_app.projects.selectors.projects import project_find_by_name
from labeling_app.review.selectors.agreement import agreement_report
from labeling_app.review.services.agreement_export import agreement_csv_render


def _figure(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


class Command(BaseCommand):
    help = "Print a project's inter-coder agreement: a line per theme, then the overall figure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--csv", type=Path, default=None, help="also write the figures and pair kappas here")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            project = project_find_by_name(name=options["project"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if project is None:
            raise CommandError(f"no project named {options['project']!r}")
        report = agreement_report(project=project)
        for row in report["themes"]:
            self.stdout.write(f"theme={row['name']} alpha={_figure(row['alpha'])} ac1={_figure(row['ac1'])} "
                              f"items={row['items']}")
        if options["csv"] is not None:
            options["csv"].write_text(agreement_csv_render(report), encoding="utf-8")
        self.stdout.write(f"items={report['items']} coders={len(report['coders'])} "
                          f"alpha_masi={_figure(report['overall']['alpha_masi'])}")
