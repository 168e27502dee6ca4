"""Discovery in the browser: a run on the demo survey, merge, split, make a theme; and the map of 6,205 points."""
import time

import pytest
from playwright.sync_api import expect

from labeling_app.discovery.models import Cluster, ClusterAssignment, DiscoveryRun
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Role
from tests.browser.conftest import SCREENSHOTS, login
from tests.conftest import PASSWORD, demo_project_make
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_start_merge_split_and_make_a_theme(live_server, celery_worker_process, demo_vectors, new_page):
    analyst = UserFactory(username="cara-analyst")
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)
    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/clusters/")
    page.fill("input[name=n_clusters]", "10")
    page.click("#start-discovery button[value=start]")
    expect(page.locator("#discovery-status")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    page.click("#discovery-status a")
    cards = page.locator("#clusters article.cluster:not(.outliers)")
    expect(cards).to_have_count(10)

    # Merge the two smallest clusters.
    sizes = [int(cards.nth(i).get_attribute("data-size")) for i in range(10)]
    smallest = sorted(range(10), key=lambda i: sizes[i])[:2]
    chosen = [int(cards.nth(i).get_attribute("data-cluster")) for i in smallest]
    union = set(ClusterAssignment.objects.filter(cluster_id__in=chosen).values_list("response_id", flat=True))
    for i in smallest:
        cards.nth(i).locator("input[name=cluster]").check()
    page.click("#merge-selected")
    expect(page.locator(".messages")).to_contain_text("Merged into")
    expect(cards).to_have_count(9)
    merged = Cluster.objects.filter(run__project=project, active=True).order_by("-pk").first()
    assert set(merged.assignments.values_list("response_id", flat=True)) == union
    expect(page.locator(f"#clusters article[data-cluster='{merged.pk}']")).to_have_attribute("data-size", str(len(union)))

    # Split the largest in two.
    largest = page.locator("#clusters article.cluster:not(.outliers)").first
    largest_id = int(largest.get_attribute("data-cluster"))
    largest.locator("button[value=split]").click()
    expect(page.locator(".messages")).to_contain_text("Split into 2 clusters")
    expect(page.locator(f"#clusters article[data-cluster='{largest_id}']")).to_have_count(0)
    expect(cards).to_have_count(10)

    # Make a theme from a cluster, with one member unticked.
    card = page.locator("#clusters article.cluster:not(.outliers)").nth(1)
    card.locator("a.cluster-name").click()
    rows = page.locator("#members tbody tr")
    count = rows.count()
    assert count >= 2
    unticked = int(rows.nth(0).get_attribute("data-response"))
    rows.nth(0).locator("input[type=checkbox]").uncheck()
    page.fill("#theme-name", "Picked from a cluster")
    page.click("#make-theme")
    expect(page.locator(".messages")).to_contain_text(f"labels {count - 1} responses")
    cluster_members = {int(rows_id) for rows_id in Cluster.objects.get(theme__name="Picked from a cluster")
                       .assignments.values_list("response_id", flat=True)}
    labelled = set(Annotation.objects.filter(is_current=True, themes__name="Picked from a cluster")
                   .values_list("response_id", flat=True))
    assert labelled == cluster_members - {unticked}
    assert all(a.coder == analyst for a in Annotation.objects.filter(is_current=True, themes__name="Picked from a cluster"))


def test_the_map_draws_every_nhs_response(live_server, nhs_file, new_page):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling_app.discovery.services import discovery_layout_compute, discovery_run_execute
    from labeling_app.importing.services import import_file_run
    from tests.factories import MembershipFactory, ProjectFactory
    from tests.scenarios import embedding_runs_done

    analyst = UserFactory(username="mo-analyst")
    project = ProjectFactory(name="NHS map")
    MembershipFactory(project=project, user=analyst, role=Role.ANALYST)
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("nhs.csv", nhs_file.read_bytes()))
    embedding_runs_done(project)  # as the embedding workers would: discovery never embeds itself
    run = DiscoveryRun.objects.create(project=project)
    started = time.monotonic()
    assert discovery_run_execute(discovery_run_id=run.pk).status == DiscoveryRun.Status.SUCCEEDED
    clustered = time.monotonic()
    assert discovery_layout_compute(discovery_run_id=run.pk).layout
    print(f"embedding + discovery of 6,205 responses: {clustered - started:.1f} s, "
          f"layout {time.monotonic() - clustered:.1f} s")

    page = new_page()
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/map/")
    canvas = page.locator("#map")
    expect(canvas).to_have_attribute("data-ready", "true", timeout=30_000)
    assert canvas.get_attribute("data-points") == "6205"
    # The page stays responsive: a script round-trip and a hover answer quickly after drawing.
    started = time.monotonic()
    assert page.evaluate("1 + 1") == 2
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert time.monotonic() - started < 2
    painted = page.evaluate("""() => { const c = document.getElementById('map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert painted > 8_000  # thousands of 4x4 points (many overlap), not an empty canvas
    assert page.locator("#map-legend li").count() == project.discovery_runs.get().clusters.filter(active=True).count()
    shots = SCREENSHOTS
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "map-nhs.png"), full_page=True)
    assert (shots / "map-nhs.png").stat().st_size > 10_000
    # Coloured by its most used theme, out of the 45.
    theme = max(project.themes.all(), key=lambda t: t.annotations.filter(is_current=True).count())
    page.select_option("#colour-by", f"theme:{theme.pk}")
    expect(canvas).to_have_attribute("data-highlighted", str(theme.annotations.filter(is_current=True).count()))
    page.screenshot(path=str(shots / "map-nhs-theme.png"), full_page=True)
