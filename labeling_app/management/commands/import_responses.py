from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling_app.models import ImportJob, Project
from labeling_app.services.imports import import_file_run


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
        project, created = Project.objects.get_or_create(
            name=options["project"], defaults={"question": options["question"] or ""}
        )
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
