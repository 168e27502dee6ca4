from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from labeling_app.services.demo import DEMO_USERS, demo_project_load

NHS_FILE = Path(settings.BASE_DIR).parent / "shared" / "data" / "nhs_fft" / "coded_responses.csv"


class Command(BaseCommand):
    help = "Load the demo project (and the NHS project when ../shared is present) and the demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-nhs", action="store_true", help="skip the NHS Friends and Family Test project")

    def handle(self, *args: Any, **options: Any) -> None:
        project, job = demo_project_load()
        self.stdout.write(f"{project.name}: " + (job.summary if job else "already loaded"))
        if not options["no_nhs"] and NHS_FILE.is_file():
            nhs, job = demo_project_load(
                name="NHS Friends and Family Test", question="What could we do better?", path=NHS_FILE
            )
            self.stdout.write(f"{nhs.name}: " + (job.summary if job else "already loaded")
                              + " (data: NHS England / The Strategy Unit, pxtextmining, MIT)")
        self.stdout.write("Demo users (demo passwords, change them for real use):")
        for username, (role, password) in DEMO_USERS.items():
            self.stdout.write(f"  {role.label:<8} {username:<14} password: {password}")
