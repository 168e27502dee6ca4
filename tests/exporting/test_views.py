"""The PDF report from the pages: members ask for it and its progress partial polls until the download is offered;
outsiders get 404, anonymous visitors the sign-in page."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from labeling_app.exporting.models import ReportExport
from labeling_app.importing.services import import_file_run

CSV = b"respondent_id,response,theme,plan\nX1,It costs too much,Price,Basic\nX2,Late box,Delivery,Family\n"


@pytest.fixture
def coded(prepare_project):
    import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("f.csv", CSV))
    return prepare_project


def _browser(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["analyst", "lead", "admin"])
def test_a_member_asks_for_the_report_and_gets_a_progress_that_polls(who, coded, django_capture_on_commit_callbacks):
    client = _browser(coded.user(who))
    with django_capture_on_commit_callbacks(execute=False) as sent:
        page = client.post(reverse("report-request", args=[coded.project.pk]),
                           {"meta": "plan:Family", "segment": "plan", "csrfmiddlewaretoken": "x"})
    assert page.status_code == 200, page.content
    job = ReportExport.objects.get()
    assert job.params == {"meta": ["plan:Family"], "segment": ["plan"]} and job.requested_by == coded.user(who)
    assert len(sent) == 1
    html = page.content.decode()
    progress = reverse("report-progress", args=[coded.project.pk, job.pk])
    assert 'data-status="pending"' in html and f'hx-get="{progress}"' in html and "Waiting for a worker" in html
    # Once printed, the partial stops polling and offers the API's file, which the page's session downloads.
    ReportExport.objects.filter(pk=job.pk).update(status="succeeded", size=9)
    job.refresh_from_db()
    job.file.save("r.pdf", SimpleUploadedFile("r.pdf", b"%PDF-1.4\n"))
    done = client.get(progress).content.decode()
    download = reverse("api-report-export-file", args=[coded.project.pk, job.pk])
    assert 'data-status="succeeded"' in done and "hx-get" not in done and f'href="{download}"' in done
    pdf = client.get(download)
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content) == b"%PDF-1.4\n"


@pytest.mark.django_db
def test_a_failed_report_says_why_and_a_bad_filter_is_refused(coded):
    client = _browser(coded.analyst)
    failed = ReportExport.objects.create(project=coded.project, status="failed",
                                         message="Chromium could not print the report (exit status 1)")
    page = client.get(reverse("report-progress", args=[coded.project.pk, failed.pk])).content.decode()
    assert 'role="alert"' in page and "exit status 1" in page and "hx-get" not in page
    refused = client.post(reverse("report-request", args=[coded.project.pk]), {"source": "guess"})
    assert refused.status_code == 400 and b"source must be" in refused.content
    assert list(ReportExport.objects.all()) == [failed]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["outsider", None])
def test_outsiders_get_404_and_anonymous_visitors_the_sign_in_page(who, coded):
    job = ReportExport.objects.create(project=coded.project)
    client = _browser(coded.user(who) if who else None)
    asked = client.post(reverse("report-request", args=[coded.project.pk]), {})
    progress = client.get(reverse("report-progress", args=[coded.project.pk, job.pk]))
    for response in (asked, progress):
        if who is None:
            assert response.status_code == 302 and response["Location"].startswith("/login/")
        else:
            assert response.status_code == 404 and b"Cancellations" not in response.content
    assert ReportExport.objects.count() == 1


@pytest.mark.django_db
def test_a_report_of_another_project_is_not_found_through_this_one(coded):
    """The outsider administers their own project: its report id is a 404 under the fixture's project and the
    fixture's report a 404 under theirs."""
    mine = coded.outsider.memberships.get().project
    theirs = ReportExport.objects.create(project=coded.project)
    client = _browser(coded.outsider)
    assert client.get(reverse("report-progress", args=[mine.pk, theirs.pk])).status_code == 404
    assert client.get(reverse("report-request", args=[mine.pk])).status_code == 405  # asking is a POST
