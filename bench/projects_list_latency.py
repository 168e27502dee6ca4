"""/projects/ latency: the project list page with the NHS project loaded (6,205 responses, every one coded, 45
themes), side by side with the list query it replaced (counts over a join of responses x themes folded back by
DISTINCT). Goal (issue 22): under 200 ms a load. The project is bench/dashboard_latency.py's, built once into
the bench's own database and reused.

    python bench/projects_list_latency.py [--size 6205] [--repeats 9] [--database-url URL]

Last line: page_p50_ms=… page_max_ms=… query_p50_ms=… baseline_query_p50_ms=… at SIZE (CPU)
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench._data import cpu_name  # noqa: E402
from bench.dashboard_latency import build_project, nhs_inputs, setup_django  # noqa: E402


def timed(call, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Milliseconds of each of `repeats` calls, after one warm-up call."""
    call()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=6205)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-dashboard.sqlite3'}"))
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.contrib.auth.models import User
    from django.db.models import Count, OuterRef, Q, Subquery
    from django.test import Client

    from labeling_app.labeling.selectors.counts import project_list_with_counts
    from labeling_app.projects.models import Membership
    from labeling_app.projects.selectors.projects import projects_for_user

    data, metadata = nhs_inputs()
    project = build_project(args.size, data, metadata)
    user = User.objects.get(username="bench-analyst")
    assert Membership.objects.filter(project=project, user=user).exists()

    def baseline() -> list:
        # The list query before issue 22: both counts over one join of responses x themes.
        role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
        return list(projects_for_user(user=user).annotate(
            user_role=Subquery(role), response_count=Count("responses", distinct=True),
            theme_count=Count("themes", filter=Q(themes__archived=False), distinct=True)).order_by("name"))

    def current() -> list:
        return list(project_list_with_counts(user=user).order_by("name"))

    counts = {p.pk: (p.response_count, p.theme_count) for p in current()}
    assert counts == {p.pk: (p.response_count, p.theme_count) for p in baseline()}  # the same figures
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def page() -> None:
        response = client.get("/projects/")
        assert response.status_code == 200 and project.name in response.content.decode(), response.status_code

    cpu = cpu_name()
    print(f"database {args.database_url.split('://')[0]}, {os.cpu_count()} CPUs ({cpu}); "
          f"{counts[project.pk][0]} responses, {counts[project.pk][1]} themes", flush=True)
    pages, queries, before = timed(page, args.repeats), timed(current, args.repeats), timed(baseline, args.repeats)
    print(f"page_p50_ms={statistics.median(pages):.0f} page_max_ms={max(pages):.0f} "
          f"query_p50_ms={statistics.median(queries):.1f} baseline_query_p50_ms={statistics.median(before):.0f} "
          f"at {args.size} ({cpu})")


if __name__ == "__main__":
    main()
