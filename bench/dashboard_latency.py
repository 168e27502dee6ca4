"""Dashboard latency: each insights view's time (the selectors the API calls) on the NHS responses (6,205) and
on 100,000 responses made by repeating them with small edits, every response coded with its NHS themes and
carrying its NHS metadata (date, organisation, service, score). The projects are built once into the bench's
own database and reused; each view runs --repeats times per size.

    python bench/dashboard_latency.py [--sizes 6205,100000] [--repeats 5] [--database-url URL]

Last line: views=V p50_ms=… p95_ms=… at 6205; p50_ms=… p95_ms=… at 100000
"""
import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench._data import NHS_DIR, load_coded  # noqa: E402
from bench.retrain_latency import EDITS  # noqa: E402

META = ("date", "organisation", "service", "score")


def setup_django(database_url: str) -> None:
    os.environ.setdefault("THEMELOOP_DEV", "1")
    # A cache namespace of this run's own, so the first view of each size really builds the tables.
    os.environ["THEMELOOP_INSTANCE"] = f"bench-dashboard-{os.getpid()}"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_project(size: int, data, metadata: dict[str, dict]):  # type: ignore[no-untyped-def]
    """The bench project of this size, built once (reused when it is already complete)."""
    from django.contrib.auth.models import User

    from labeling_app.labeling.models import Annotation
    from labeling_app.projects.models import Project, Response
    from labeling_app.projects.services.projects import project_create
    from labeling_app.themes.services.themes import theme_create

    name = f"bench-dashboard-{size}"
    project = Project.objects.filter(name=name).first()
    if project and project.responses.count() == size and project.labels_revision >= 1:
        return project
    Project.objects.filter(name=name).delete()
    user, _ = User.objects.get_or_create(username="bench-analyst")
    project = project_create(user=user, name=name, question="What could we do better?")
    themes = [theme_create(project=project, name=t, shortcut="") for t in data.themes]
    n = len(data.texts)
    made = Response.objects.bulk_create(
        (Response(project=project, respondent_id=f"B{i:06d}",
                  text=data.texts[i % n] if i < n else EDITS[(i // n) % len(EDITS)](data.texts[i % n]),
                  metadata=metadata[data.ids[i % n]]) for i in range(size)), batch_size=5000)
    annotations = Annotation.objects.bulk_create((Annotation(response=r, coder=user) for r in made), batch_size=5000)
    through = Annotation.themes.through
    through.objects.bulk_create(
        (through(annotation_id=a.pk, theme_id=themes[j].pk)
         for i, a in enumerate(annotations) for j in np.flatnonzero(data.Y[i % n])), batch_size=5000)
    Project.objects.filter(pk=project.pk).update(labels_revision=1)
    project.refresh_from_db()
    return project


def measure(project, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Milliseconds of every view call, all views and repeats together."""
    from django.db.models import F

    from labeling_app.insights.selectors import insights as sel
    from labeling_app.projects.models import Project

    scope = sel.InsightsScope(project=project)
    dated = sel.InsightsScope(project=project, date_field="date")
    times = []
    cold = time.perf_counter()
    top = max(sel.prevalence(scope=scope)["themes"], key=lambda t: t["count"])["theme_id"]
    tables = time.perf_counter()
    sel.terms(scope=scope, theme_id=top)
    terms = time.perf_counter()
    Project.objects.filter(pk=project.pk).update(labels_revision=F("labels_revision") + 1)  # as after a submit
    sel.prevalence(scope=scope)
    relabel = time.perf_counter()
    print(f"  first views: tables built in {(tables - cold) * 1000:.0f} ms, term matrix in "
          f"{(terms - tables) * 1000:.0f} ms; after a label change {(relabel - terms) * 1000:.0f} ms", flush=True)
    views = {
        "prevalence": lambda: sel.prevalence(scope=scope, segment="organisation"),
        "terms": lambda: sel.terms(scope=scope, theme_id=top),
        "term_responses": lambda: sel.term_responses(scope=scope, theme_id=top, term="staff"),
        "drivers": lambda: sel.drivers(scope=scope, score="score"),
        "cooccurrence": lambda: sel.cooccurrence(scope=scope),
        "trends": lambda: sel.trends(scope=dated, period="month"),
        "quotes": lambda: sel.quotes(scope=scope),
    }
    for name, view in views.items():
        mine = []
        for _ in range(repeats):
            t = time.perf_counter()
            view()
            mine.append((time.perf_counter() - t) * 1000)
        print(f"  {name}: p50 {np.percentile(mine, 50):.0f} ms, max {max(mine):.0f} ms", flush=True)
        times += mine
    return times


def nhs_inputs():  # type: ignore[no-untyped-def]
    """The NHS coded file as a label matrix and each respondent's metadata (META keys): what build_project takes."""
    path = NHS_DIR / "coded_responses.csv"
    if not path.is_file():
        sys.exit(f"{NHS_DIR} is missing")
    with open(path, newline="", encoding="utf-8") as fh:
        metadata: dict[str, dict] = {}
        for row in csv.DictReader(fh):
            metadata.setdefault(row["respondent_id"], {k: row[k] for k in META})
    return load_coded(path), metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="6205,100000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-dashboard.sqlite3'}"))
    args = parser.parse_args()
    setup_django(args.database_url)
    data, metadata = nhs_inputs()
    print(f"database {args.database_url.split('://')[0]}, {os.cpu_count()} CPUs", flush=True)
    results, n_views = [], 7
    for size in [int(s) for s in args.sizes.split(",")]:
        t = time.perf_counter()
        project = build_project(size, data, metadata)
        print(f"[{size}] project ready in {time.perf_counter() - t:.1f} s", flush=True)
        times = measure(project, args.repeats)
        results.append(f"p50_ms={np.percentile(times, 50):.0f} p95_ms={np.percentile(times, 95):.0f} at {size}")
    print(f"views={n_views} " + "; ".join(results))


if __name__ == "__main__":
    main()
