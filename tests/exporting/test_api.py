import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from labeling_app.importing.services import import_file_run


@pytest.fixture
def coded(prepare_project):
    data = b"respondent_id,response,theme,plan\nX1,@everyone it costs too much,Price,Basic\nX2,Late box,Delivery,Family\n"
    import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("f.csv", data))
    return prepare_project


def _url(project, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("api-export", args=[project.pk]) + (f"?{query}" if query else "")


@pytest.mark.django_db
def test_analyst_downloads_long_csv_with_formulas_neutralised(coded):
    response = coded.client("analyst").get(_url(coded.project, format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="cancellations-csv.csv"'
    rows = {r["respondent_id"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["X1"]["response"] == "'@everyone it costs too much" and rows["X1"]["theme"] == "Price"
    assert rows["X2"]["theme"] == "Delivery"


@pytest.mark.django_db
def test_wide_and_xlsx_and_filters(coded):
    client = coded.client("lead")
    wide = client.get(_url(coded.project, format="csv-wide", meta="plan:Family"))
    rows = list(csv.DictReader(io.StringIO(wide.content.decode())))
    assert [(r["respondent_id"], r["Delivery"], r["Price"]) for r in rows] == [("X2", "1", "0")]
    book = client.get(_url(coded.project, format="xlsx", segment="plan"))
    assert book.status_code == 200
    assert load_workbook(io.BytesIO(book.content)).sheetnames == [
        "responses", "labels", "prevalence", "segments", "differences", "terms", "cooccurrence", "combinations",
        "quotes", "about"]
    # The insights filters: source=model without a model is human labels, marked as such; uncoded rows are blank.
    model = client.get(_url(coded.project, format="csv-wide", source="model"))
    marks = {r["respondent_id"]: r["label_source"] for r in csv.DictReader(io.StringIO(model.content.decode()))}
    assert (marks.pop("X1"), marks.pop("X2"), set(marks.values())) == ("human", "human", {""})


@pytest.mark.django_db
def test_bad_parameters_are_400_with_the_error_shape(coded):
    client = coded.client("analyst")
    for params, message in (({"format": "docx"}, "unknown format 'docx'"), ({"format": "csv", "meta": "plan"}, "KEY:VALUE"),
                            ({"format": "xlsx", "source": "guess"}, "source must be"),
                            ({"format": "xlsx", "segment": "nope"}, "Unknown metadata column 'nope'"),
                            ({"format": "xlsx", "period": "year"}, "period must be")):
        response = client.get(_url(coded.project, **params))
        assert response.status_code == 400, response.content
        assert set(response.json()) == {"message", "details"} and message in response.json()["message"]
    assert coded.client("outsider").get(_url(coded.project, format="csv")).status_code == 404


@pytest.mark.django_db
def test_report_as_html_here_and_the_pdf_as_a_job(coded):
    client = coded.client("analyst")
    page = client.get(_url(coded.project, format="html"))
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b"@everyone it costs too much" in page.content and b"data:image/png;base64," in page.content
    # The PDF is printed by a worker (tests/exporting/test_reports.py): this endpoint says where to ask for it.
    pdf = client.get(_url(coded.project, format="pdf"))
    assert pdf.status_code == 400 and "/reports/" in pdf.json()["message"]


@pytest.mark.django_db
def test_overview_export_card_links_download_with_the_browser_session(coded):
    browser = Client()
    browser.force_login(coded.analyst)
    page = browser.get(reverse("project-overview", args=[coded.project.pk])).content.decode()
    links = re.findall(r'href="([^"]*/export/\?format=[^"]+)"', page)
    assert [link.rsplit("=", 1)[1] for link in links] == ["csv", "csv-wide", "xlsx", "sav", "triple-s", "html"]
    for link in links:
        response = browser.get(link)
        assert response.status_code == 200, link
        assert response["Content-Disposition"].startswith("attachment;")
    # The PDF is a form that asks a worker for it (tests/exporting/test_views.py).
    assert f'hx-post="{reverse("report-request", args=[coded.project.pk])}"' in page and 'id="report-status"' in page
