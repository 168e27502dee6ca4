"""The Model page of a project with several versions and many themes: axes, sortable table, one flag rule."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from labeling_app.modeling.models import ModelVersion
from ml.classifier import needs_more_examples
from tests.browser.conftest import SCREENSHOTS, login
from tests.factories import ThemeFactory

pytestmark = pytest.mark.browser
LABEL_COUNTS = [120, 310, 560, 1040]


def _per_theme(themes: list, scale: float) -> list[dict]:
    """Varied figures: supports from 1 to ~200, F1 rising with support, some weak themes."""
    rows = []
    for i, theme in enumerate(themes):
        support = int((1 + (i * 37) % 200) * scale)
        f1 = 0.0 if i % 9 == 0 else min(0.95, 0.15 + support / 250 + (i % 5) * 0.04)
        rows.append({"theme": theme.pk, "theme_name": theme.name, "support": support, "precision": min(1.0, f1 + 0.05),
                     "recall": max(0.0, f1 - 0.05), "f1": f1, "threshold": 0.1 + (i % 7) * 0.05,
                     "needs_more_examples": False})  # stored flag is stale on purpose: the page applies the rule
    return rows


@pytest.fixture
def many_versions(prepare_project):
    project = prepare_project.project
    themes = prepare_project.themes + [ThemeFactory(project=project, name=f"Theme {i:02d} about things")
                                       for i in range(52)]
    now = timezone.now()
    for number, count in enumerate(LABEL_COUNTS, start=1):
        version = ModelVersion.objects.create(
            project=project, number=number, status=ModelVersion.Status.READY, labelled_responses=count,
            labels_used=int(count * 1.4), micro_f1=0.35 + 0.07 * number, macro_f1=0.12 + 0.08 * number,
            quality_interval={"micro": [0.31 + 0.07 * number, 0.39 + 0.07 * number],
                              "macro": [0.05 + 0.08 * number, 0.2 + 0.08 * number], "level": 0.9, "rows": 40 * number},
            per_theme=_per_theme(themes, count / LABEL_COUNTS[-1]), finished_at=now, made_current_at=now)
    project.current_model = version
    project.save(update_fields=["current_model"])
    return project, version


def _column(page, index: int) -> list[str]:
    return page.locator(f"#per-theme tbody tr td:nth-child({index})").all_inner_texts()


def test_model_page_axes_sortable_table_and_flags(live_server, prepare_project, many_versions, new_page):
    project, current = many_versions
    page = new_page()
    login(page, live_server, "ana-analyst")
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")

    # Axes: x from the first version's label count to the last's, y from 0 to 1, with tick values.
    x_ticks = page.locator("#learning-curve .x-axis text.tick").all_text_contents()
    y_ticks = page.locator("#learning-curve .y-axis text.tick").all_text_contents()
    assert x_ticks[0] == str(LABEL_COUNTS[0]) and x_ticks[-1] == str(LABEL_COUNTS[-1]), x_ticks
    assert len(x_ticks) >= 3 and [int(t) for t in x_ticks] == sorted(int(t) for t in x_ticks)
    assert y_ticks[0] == "0.0" and y_ticks[-1] == "1.0", y_ticks
    # The first and last markers sit on the ends of the x axis.
    axis = page.locator("#learning-curve .x-axis line").first
    circles = page.locator("#learning-curve circle")
    assert circles.count() == 2 * len(LABEL_COUNTS)
    assert float(circles.first.get_attribute("cx")) == pytest.approx(float(axis.get_attribute("x1")), abs=0.2)
    assert float(circles.last.get_attribute("cx")) == pytest.approx(float(axis.get_attribute("x2")), abs=0.2)

    # Each version's F1 with its interval; the note names the current version's scored rows.
    last = page.locator(f"#versions tr[data-version='{current.number}']")
    number = current.number
    expect(last.locator("td").nth(3)).to_have_text(
        f"{current.micro_f1:.3f} ({0.31 + 0.07 * number:.2f} to {0.39 + 0.07 * number:.2f})")
    expect(last.locator("td").nth(4)).to_have_text(
        f"{current.macro_f1:.3f} ({0.05 + 0.08 * number:.2f} to {0.2 + 0.08 * number:.2f})")
    expect(page.locator("#versions + p")).to_contain_text("90% interval")
    expect(page.locator("#versions + p")).to_contain_text(f"({40 * number} for v{number})")

    rows = page.locator("#per-theme tbody tr")
    expect(rows).to_have_count(54)
    # Sort by F1: highest first, then lowest first on a second click.
    f1_header = page.locator("#per-theme th", has_text="F1")
    f1_header.locator("button").click()
    expect(f1_header).to_have_attribute("aria-sort", "descending")
    values = [float(v) for v in _column(page, 5)]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    f1_header.locator("button").click()
    expect(f1_header).to_have_attribute("aria-sort", "ascending")
    assert [float(v) for v in _column(page, 5)] == sorted(values)
    # Sort by support, then by theme name.
    page.locator("#per-theme th", has_text="Support").locator("button").click()
    supports = [int(v) for v in _column(page, 2)]
    assert supports == sorted(supports, reverse=True)
    page.locator("#per-theme th", has_text="Theme").locator("button").click()
    names = _column(page, 1)
    assert names == sorted(names, key=str.lower) and len(set(names)) == 54

    # The flag follows the one rule (the stored, stale flags all say False).
    flagged = {row["theme_name"] for row in current.per_theme if needs_more_examples(row["support"], row["f1"])}
    assert flagged and len(flagged) < 54
    page.locator("#per-theme th", has_text="Flag").locator("button").click()
    shown = page.locator("#per-theme tbody tr", has_text="needs more examples").locator("td:first-child")
    assert set(shown.all_inner_texts()) == flagged
    assert _column(page, 1)[: len(flagged)] == shown.all_inner_texts()  # flagged rows first

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "model-page.png"), full_page=True)
    page.locator("#learning-curve").screenshot(path=str(SCREENSHOTS / "model-curve.png"))
