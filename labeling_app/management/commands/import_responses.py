from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.projects.models import Project
from labeling_app.projects.selectors.projects import project_find_by_name


class Command(BaseCommand):
    help = "Import a long-format CSV/XLSX file (respondent_id, response[, theme], metadata…) into a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="project name; created if it does not exist")
        parser.add_argument("--question", default=None, help="the survey question (for a new project)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            project = project_find_by_name(name=options["project"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        created = project is None
        if project is None:  # made by the operator: no owner, and no members until someone is added
            project = Project.objects.create(name=options["project"], question=options["question"] or "")
        if not created and options["question"] and not project.question:
            project.question = options["question"]
            project.save(update_fields=["question"])
        with path.open("rb") as fh:
            job = import_file_run(project=project, user=None, upload=File(fh, name=path.name))
        if job.status != ImportJob.Status.SUCCEEDED:
            if created:
                project.delete()  # all or nothing: a failed first import leaves no empty project behind
            details = "\n".join(
                f"  row {e['row']}: {e['message']}" if e.get("row") else f"  {e['message']}" for e in job.errors[:20]
            )
            raise CommandError(f"nothing imported: {job.message}\n{details}".rstrip())
        self.stdout.write(job.summary)
