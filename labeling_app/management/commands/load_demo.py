from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from labeling_app.importing.demo import DEMO_USERS, NHS_CODED, demo_load_summary, demo_project_load, nhs_demo_load

NHS_DIR = Path(settings.BASE_DIR).parent / "shared" / "data" / "nhs_fft"


class Command(BaseCommand):
    help = "Load the demo project (and the NHS project when ../shared is present) and the demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-nhs", action="store_true", help="skip the NHS Friends and Family Test project")
        parser.add_argument("--nhs-dir", type=Path, default=NHS_DIR,
                            help="folder with the NHS coded_responses.csv and split.csv (default ../shared/...)")
        parser.add_argument("--nhs-coded", type=int, default=NHS_CODED,
                            help=f"NHS responses imported with their themes (default {NHS_CODED}); the rest uncoded")

    def handle(self, *args: Any, **options: Any) -> None:
        project, job = demo_project_load()
        self.stdout.write(f"{project.name}: " + demo_load_summary(project=project, job=job))
        nhs_dir: Path = options["nhs_dir"]
        if not options["no_nhs"] and (nhs_dir / "coded_responses.csv").is_file() and (nhs_dir / "split.csv").is_file():
            nhs, job = nhs_demo_load(data_dir=nhs_dir, coded=options["nhs_coded"])
            self.stdout.write(f"{nhs.name}: " + demo_load_summary(project=nhs, job=job)
                              + " (data: NHS England / The Strategy Unit, pxtextmining, MIT)")
        self.stdout.write("Demo users (demo passwords, change them for real use):")
        for username, (role, password) in DEMO_USERS.items():
            self.stdout.write(f"  {role.label:<8} {username:<14} password: {password}")
