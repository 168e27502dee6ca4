"""The demo projects and one demo user per role, for `make run`."""
import csv
import functools
import io
import random
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.labeling.selectors.counts import project_counts
from labeling_app.projects.models import Project, Role
from labeling_app.projects.services.members import member_add_without_invitation, member_change_role
from labeling_app.themes.services.themes import theme_create

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_PROJECT = "Why are you cancelling?"
DEMO_QUESTION = "Why are you cancelling your Loop Box subscription?"
DEMO_USERS = {  # username -> (role, password); demo-only credentials, printed by make run
    "demo-admin": (Role.ADMIN, "admin-loop-2026"),
    "demo-lead": (Role.LEAD, "lead-loop-2026"),
    "demo-analyst": (Role.ANALYST, "analyst-loop-2026"),
}
NHS_PROJECT = "NHS Friends and Family Test"
NHS_QUESTION = "What could we do better?"
# Only a few hundred NHS answers arrive coded, so Label, Suggestions and "more like this" have work to
# show; the seed makes every installation pick the same ones. All codes stay in the shared file.
NHS_CODED = 300
NHS_SEED = 8


@transaction.atomic
def demo_users_ensure() -> dict[str, str]:
    """Create (or reset) the demo users; returns username -> password."""
    user_model = get_user_model()
    for username, (_, password) in DEMO_USERS.items():
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
    return {u: p for u, (_, p) in DEMO_USERS.items()}


def _project_load(*, name: str, question: str, upload: Callable[[], File],
                  theme_names: Callable[[], list[str]] | None = None, settings: dict | None = None,
                  nets: Callable[[], dict[str, str]] | None = None) -> tuple[Project, ImportJob | None]:
    # Idempotent: a project that already has responses is left as it is; only memberships are ensured.
    demo_users_ensure()
    # The demo's projects have no owner (names are unique per owner: a user's own project of the same name is
    # another project).
    project, created = Project.objects.get_or_create(name=name, created_by=None,
                                                     defaults={"question": question, **(settings or {})})
    job = None
    if created or not project.responses.exists():
        existing = {t.name.casefold() for t in project.themes.all()}
        net_of = nets() if nets else {}
        for theme_name in theme_names() if theme_names else []:
            if theme_name.casefold() not in existing:
                theme_create(project=project, name=theme_name, net=net_of.get(theme_name, ""))
        job = import_file_run(project=project, user=None, upload=upload())
        if job.status != ImportJob.Status.SUCCEEDED:
            raise RuntimeError(f"demo import failed: {job.message}")
    user_model = get_user_model()
    for username, (role, _) in DEMO_USERS.items():
        # The operator's doing, so no invitation; recorded in the audit trail like any change of membership.
        user = user_model.objects.get(username=username)
        membership = project.memberships.filter(user=user).first()
        if membership is None:
            member_add_without_invitation(project=project, user=user, role=role)
        elif membership.role != role:
            member_change_role(membership=membership, role=role)
    return project, job


def demo_load_summary(*, project: Project, job: ImportJob | None) -> str:
    """What `load_demo` says of a project: "already loaded", or the import's responses and labels with the
    project's own count of live themes. Not the job's summary: its theme count is the themes the file names,
    and the NHS file's coded sample names 35 of the 45 themes the demo creates beforehand."""
    if job is None:
        return "already loaded"
    themes = project_counts(project=project)["themes"]
    return f"imported {job.responses_created} responses, {themes} themes, {job.labels_created} labels"


def demo_project_load(*, name: str = DEMO_PROJECT, question: str = DEMO_QUESTION,
                      path: Path = DEMO_DIR / "cancelling.csv") -> tuple[Project, ImportJob | None]:
    """Create the demo project from a coded file once, and make each demo user a member."""
    return _project_load(name=name, question=question, upload=lambda: ContentFile(path.read_bytes(), name=path.name))


def nhs_demo_rows(*, data_dir: Path, coded: int = NHS_CODED, seed: int = NHS_SEED
                  ) -> tuple[list[str], list[list[str]], list[str]]:
    """The NHS file reduced for the demo: `coded` respondents of the `pool` split (a seeded sample) keep
    their themes, every other respondent comes once with an empty theme. Returns (header, rows, theme
    names of the whole file in order of first appearance)."""
    with (data_dir / "split.csv").open(newline="", encoding="utf-8") as fh:
        pool = sorted(row["respondent_id"] for row in csv.DictReader(fh) if row["split"] == "pool")
    keep = set(random.Random(seed).sample(pool, min(coded, len(pool))))
    with (data_dir / "coded_responses.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        id_col, theme_col = header.index("respondent_id"), header.index("theme")
        rows, seen, themes = [], set(), dict[str, None]()
        for row in reader:
            themes.setdefault(row[theme_col], None)
            respondent = row[id_col]
            if respondent in keep:
                rows.append(row)
            elif respondent not in seen:
                rows.append([*row[:theme_col], "", *row[theme_col + 1:]])
            seen.add(respondent)
    return header, rows, [t for t in themes if t]


def nhs_framework_nets(*, data_dir: Path) -> dict[str, str]:
    """The framework's two levels: theme name -> its category (the demo's net), in the framework's order."""
    with (data_dir / "framework.csv").open(newline="", encoding="utf-8") as fh:
        return {row["theme"]: row["category"] for row in csv.DictReader(fh) if row["theme"] and row["category"]}


def nhs_demo_load(*, data_dir: Path, coded: int = NHS_CODED, seed: int = NHS_SEED
                  ) -> tuple[Project, ImportJob | None]:
    """Create the NHS demo project once: every answer imported, only `coded` of them with their themes,
    and the file's whole theme framework in the theme set."""
    # Read only when the project still needs loading (a second `load_demo` reads nothing).
    reduced = functools.cache(lambda: nhs_demo_rows(data_dir=data_dir, coded=coded, seed=seed))

    def upload() -> File:
        header, rows, _ = reduced()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        return ContentFile(out.getvalue().encode("utf-8"), name="nhs_fft_demo.csv")

    # FFT scores run 1 = very good ... 5 = very poor: a theme that lowers the score makes things better.
    return _project_load(name=NHS_PROJECT, question=NHS_QUESTION, upload=upload,
                         theme_names=lambda: reduced()[2], settings={"score_higher_is_better": False},
                         nets=lambda: nhs_framework_nets(data_dir=data_dir))
