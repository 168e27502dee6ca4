"""Chart files: every insights view drawn on the server as a real PNG or SVG, members only, clear 400s."""
import csv
import io
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling_app.importing.services import import_file_run

ROWS = [("A1", "Too expensive for me", "Price", "Basic", 1, "2024-01-03"),
        ("A2", "Expensive and late", "Price;Delivery", "Family", 2, "2024-01-20"),
        ("A3", "The box came late", "Delivery", "Family", 3, "2024-02-02"),
        ("A4", "Late again, expensive too", "Delivery;Price", "Basic", 2, "2024-02-15"),
        ("A5", "Great recipes", "Recipes", "Basic", 5, "2024-03-01")]


@pytest.fixture
def charted(prepare_project):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["respondent_id", "response", "theme", "plan", "score", "day"])
    for rid, text, themes, plan, score, day in ROWS:
        writer.writerows([rid, text, theme, plan, score, day] for theme in themes.split(";"))
    job = import_file_run(project=prepare_project.project, user=None,
                          upload=SimpleUploadedFile("c.csv", out.getvalue().encode()))
    assert job.status == "succeeded", job.errors
    return prepare_project


def _url(project, view, fmt):
    return reverse("api-insights-chart", kwargs={"project_id": project.pk, "view": view, "fmt": fmt})


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its chunks and that the pixel data inflates to the right size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, idat = 8, {}, b""
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]
        chunks[kind] = body
        idat += body if kind == b"IDAT" else b""
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {2: 3, 6: 4, 0: 1, 4: 2}[colour]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels * depth // 8)
    assert b"IEND" in chunks
    return width, height


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["prevalence", "segments", "terms", "drivers", "cooccurrence", "combinations",
                                  "trends"])
def test_each_view_is_a_real_png_and_svg(view, charted):
    client = charted.client("analyst")
    params = {"theme": charted.themes[0].pk} if view == "terms" else {}
    png = client.get(_url(charted.project, view, "png"), params)
    assert png.status_code == 200, png.content
    assert png["Content-Type"] == "image/png" and png["Content-Disposition"] == f'attachment; filename="{view}.png"'
    width, height = _png_size(png.content)
    assert width > 100 and height > 50
    svg = client.get(_url(charted.project, view, "svg"), params)
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    assert ET.fromstring(svg.content).tag.endswith("svg")


@pytest.mark.django_db
def test_filters_change_the_chart(charted):
    client = charted.client("analyst")
    everyone = client.get(_url(charted.project, "prevalence", "svg")).content.decode()
    family = client.get(_url(charted.project, "prevalence", "svg"), {"meta": "plan:Family"}).content.decode()
    assert "Prevalence (5 respondents)" in everyone and "Prevalence (2 respondents)" in family
    segments = client.get(_url(charted.project, "segments", "svg"), {"segment": "plan", "source": "model"})
    assert segments.status_code == 200 and b"Basic" in segments.content and b"Family" in segments.content


@pytest.mark.django_db
def test_bad_parameters_are_400_with_a_message_and_outsiders_404(charted):
    client = charted.client("analyst")
    cases = [(("prevalence", "gif"), {}, "choose png or svg"), (("pie", "png"), {}, "Unknown chart 'pie'"),
             (("prevalence", "png"), {"source": "guess"}, "source must be"),
             (("prevalence", "svg"), {"meta": "plan"}, "KEY:VALUE"),
             (("terms", "svg"), {}, "theme=<theme id> is required"),
             (("drivers", "svg"), {"score": "plan"}, "not a numeric metadata column"),
             (("trends", "svg"), {"period": "year"}, "period must be"),
             (("segments", "svg"), {"segment": "nope"}, "Unknown metadata column")]
    for (view, fmt), params, message in cases:
        response = client.get(_url(charted.project, view, fmt), params, HTTP_ACCEPT="image/png")
        assert response.status_code == 400, (view, fmt, params, response.content)
        body = response.json()
        assert set(body) == {"message", "details"} and message in body["message"], body
    outsider = charted.client("outsider").get(_url(charted.project, "prevalence", "png"))
    assert outsider.status_code == 404 and b"Price" not in outsider.content


def _texts(svg: bytes) -> list[str]:
    """The lines of text an SVG shows (what a search in the file finds): each <text>, or each of its <tspan>s."""
    out = []
    for el in ET.fromstring(svg).iter():
        if el.tag.endswith("}text") or el.tag == "text":
            spans = [s for s in el if s.tag.endswith("tspan")]
            out += ["".join(s.itertext()) for s in spans] if spans else ["".join(el.itertext())]
    return out


@pytest.mark.django_db
def test_chart_files_carry_a_caption_with_question_filters_labels_base_and_date(charted):
    from django.utils import timezone

    client = charted.client("analyst")
    project = charted.project
    svg = client.get(_url(project, "prevalence", "svg"), {"meta": "plan:Family", "date_field": "day",
                                                          "date_from": "2024-01-01"}).content
    texts = _texts(svg)
    assert f"Question: {project.name}: {project.question}" in texts
    assert "Filters: plan = Family; day from 2024-01-01 to …" in texts
    assert (f"Labels: resolved human labels · Base: n = 2 respondents · Drawn {timezone.localdate().isoformat()}"
            " · ThemeLoop") in texts
    segments = _texts(client.get(_url(project, "segments", "svg"), {"source": "model"}).content)
    assert "Filters: none · compared by plan" in texts + segments
    assert any(t.startswith("Labels: human labels") and "Base: n = 5 respondents" in t for t in segments)
    # The PNG carries it too: three lines taller than the same chart drawn bare.
    from labeling_app.insights.selectors.insights import InsightsScope
    from labeling_app.insights.services.charts import chart_render, insights_chart_spec

    bare = chart_render(insights_chart_spec(scope=InsightsScope(project=project), view="prevalence", params={}), "png")
    png = client.get(_url(project, "prevalence", "png")).content
    assert _png_size(png)[1] - _png_size(bare)[1] >= 2 * 3 * 11


@pytest.mark.django_db
def test_terms_file_names_its_points_and_drivers_read_through_the_score_direction(charted):
    client = charted.client("analyst")
    project = charted.project
    price = next(t for t in charted.themes if t.name == "Price")
    terms = _texts(client.get(_url(project, "terms", "svg"), {"theme": price.pk}).content)
    assert "expensive" in terms and "theme Price" in " ".join(terms)
    higher = _texts(client.get(_url(project, "drivers", "svg")).content)
    project.score_higher_is_better = False
    project.save(update_fields=["score_higher_is_better"])
    lower = _texts(client.get(_url(project, "drivers", "svg")).content)
    assert "Contribution to mean score (higher is better)" in higher
    assert "Contribution to mean score (lower is better)" in lower
    assert any("score score (lower is better)" in t for t in lower)
