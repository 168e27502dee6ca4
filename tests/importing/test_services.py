"""Imports are all or nothing: a bad file writes no response, theme or label and says why."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from labeling_app.importing.errors import ImportFileError
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Response
from labeling_app.projects.services.users import IMPORTED_CODER_USERNAME
from labeling_app.themes.models import Theme

GOOD = "respondent_id,response,theme,plan\nR1,Too expensive,Price,Basic\nR1,Too expensive,Value,Basic\nR2,Box came late,Delivery,Family\nR3,Moving abroad,,Basic\n"


def xlsx_bytes(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


BAD_FILES = {
    "missing column": (b"id,text\nR1,hello\n", "f.csv", "missing column respondent_id, response"),
    "empty response": (b"respondent_id,response\nR1,fine\nR2,   \n", "f.csv", "row 3: empty response"),
    "two texts for one respondent": (
        b"respondent_id,response,theme\nR1,one,A\nR1,two,B\n", "f.csv", "row 3: respondent 'R1' appears with two"),
    "not a csv (pdf)": (b"%PDF-1.4 binary", "report.pdf", "not a CSV or XLSX file"),
    "binary content named .csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "f.csv", "not a CSV file"),
    "xlsx that is not a workbook": (b"respondent_id,response\n", "f.xlsx", "not an XLSX file"),
    "broken xlsx zip": (b"PK\x03\x04garbage", "f.xlsx", "not a readable XLSX file"),
    "unreadable encoding": (b"respondent_id,response\nR1,caf\x81\x8d\n", "f.csv", "unreadable encoding"),
    "ragged row": (b"respondent_id,response,theme\nR1,ok,A\nR2,too,many,fields,here\n", "f.csv", "row 3: ragged row"),
    "empty file": (b"\n\n  \n", "f.csv", "no header and no rows"),
    "header only": (b"respondent_id,response,theme\n", "f.csv", "header but no data rows"),
    "response of 100,000 characters": (
        b"respondent_id,response\nR1,ok\nR2," + b"x" * 100_000 + b"\n", "f.csv", "row 3: response of 100,000 characters"),
    "script in a response": (
        b"respondent_id,response\nR1,ok\nR2,<script>alert(1)</script>\n", "f.csv", "row 3: response contains HTML/script"),
    "event-handler html in a response": (
        b'respondent_id,response\nR1,<img src=x onerror="alert(1)">\n', "f.csv", "row 2: response contains HTML/script"),
    "slash-separated attributes": (
        b"respondent_id,response\nR1,<img/src=x/onerror=alert(1)>\n", "f.csv", "row 2: response contains HTML/script"),
    "svg with slash and onload": (
        b"respondent_id,response\nR1,hi <svg/onload=alert(1)>\n", "f.csv", "row 2: response contains HTML/script"),
    "any tag, an end tag, a comment": (
        b"respondent_id,response\nR1,<a href=//x>y</a>\nR2,</textarea>\nR3,<!--x-->\n", "f.csv",
        "row 2: response contains HTML/script"),
    "respondent id longer than its column": (
        b"respondent_id,response\nR1,ok\n" + b"R" * 256 + b",fine\n", "f.csv",
        "row 3: respondent_id of 256 characters; the limit is 255"),
    "theme name longer than its column": (
        b"respondent_id,response,theme\nR1,ok,Price\nR2,fine," + b"t" * 500 + b"\n", "f.csv",
        "row 3: theme name of 500 characters; the limit is 120"),
    "errors in an xlsx": (xlsx_bytes([["respondent_id", "response"], ["R1", None]]), "f.xlsx", "row 2: empty response"),
    # ThemeLoop's own markers (themeloop_row): a file that uses them wrongly is refused whole, themes included.
    "unknown row kind": (
        b"respondent_id,response,theme,themeloop_row\n,,New theme,theme\nR1,ok,,comment\n", "f.csv",
        "row 3: themeloop_row 'comment' is not one of response, coded_no_theme, theme, archived_theme"),
    "coded_no_theme naming a theme": (
        b"respondent_id,response,theme,themeloop_row\n,,New theme,theme\nR1,ok,Price,coded_no_theme\n", "f.csv",
        "row 3: a coded_no_theme row leaves the theme blank (it names 'Price')"),
    "theme row with a respondent": (
        b"respondent_id,response,theme,themeloop_row\nR1,ok,New theme,theme\n", "f.csv",
        "row 2: a theme row leaves respondent_id and response blank"),
    "theme row without a name": (
        b"respondent_id,response,theme,themeloop_row\nR1,ok,,\n,,,archived_theme\n", "f.csv",
        "row 3: a theme row needs the theme's name"),
    "a theme described twice": (
        b"respondent_id,response,theme,themeloop_row,theme_description\n,,New theme,theme,a\n,,new THEME,theme,b\n"
        b"R1,ok,,,\n", "f.csv", "row 3: theme 'new THEME' has two theme rows"),
    "a description on a respondent's row": (
        b"respondent_id,response,theme,themeloop_row,theme_description\nR1,ok,Price,response,cheap\n", "f.csv",
        "row 2: theme_description is for theme rows only"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_changes_nothing_and_says_why(case, prepare_project):
    data, name, expected = BAD_FILES[case]
    project = prepare_project.project
    before = (Response.objects.count(), Theme.objects.count(), Annotation.objects.count())
    job = import_file_run(project=project, user=prepare_project.admin, upload=SimpleUploadedFile(name, data))
    assert job.status == ImportJob.Status.FAILED
    assert expected in job.message
    assert job.errors and all("message" in e for e in job.errors)
    assert (Response.objects.count(), Theme.objects.count(), Annotation.objects.count()) == before


@pytest.mark.django_db
def test_plain_angle_brackets_and_names_at_the_limit_are_imported(prepare_project):
    csv = ("respondent_id,response,theme\n" + "R" * 255 + ",I <3 it,Love\nR2,a < b and <= 5 but > 2," + "t" * 120
           + "\n")
    job = import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("f.csv", csv.encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert Theme.objects.filter(name="t" * 120).exists() and Response.objects.filter(respondent_id="R" * 255).exists()


@pytest.mark.django_db
def test_zero_byte_and_too_large_uploads_are_refused_before_anything_is_kept(prepare_project, settings):
    settings.IMPORT_MAX_BYTES = 1000
    for data, expected in [(b"", "empty (0 bytes)"), (b"x" * 1001, "file too large")]:
        with pytest.raises(ImportFileError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("f.csv", data))
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_good_file_creates_responses_themes_and_imported_labels(prepare_project):
    project = prepare_project.project
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", GOOD.encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.summary == "imported 3 responses, 3 themes, 3 labels"
    r1 = project.responses.get(respondent_id="R1")
    assert r1.metadata == {"plan": "Basic"}
    annotation = r1.annotations.get(is_current=True)
    assert annotation.coder.username == IMPORTED_CODER_USERNAME
    assert annotation.source == Annotation.Source.IMPORT
    assert sorted(t.name for t in annotation.themes.all()) == ["Price", "Value"]
    assert not project.responses.get(respondent_id="R3").annotations.exists()
    # "Price" already existed in the fixture's theme set: it is reused, not duplicated.
    assert sorted(project.themes.values_list("name", flat=True)) == ["Delivery", "Price", "Value"]
    assert job.themes_created == 1 and job.themes_in_file == 3
    # New themes get distinct free shortcuts.
    keys = [k for k in project.themes.values_list("shortcut", flat=True) if k]
    assert len(keys) == len(set(keys)) == 3


@pytest.mark.django_db
def test_reimport_adds_new_labels_and_keeps_history(prepare_project):
    project = prepare_project.project
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("a.csv", GOOD.encode()))
    more = "respondent_id,response,theme\nR1,Too expensive,Quality\nR9,New one,Price\n"
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("b.csv", more.encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.responses_created == 1
    r1 = project.responses.get(respondent_id="R1")
    current = r1.annotations.get(is_current=True)
    assert sorted(t.name for t in current.themes.all()) == ["Price", "Quality", "Value"]
    old = r1.annotations.get(is_current=False)
    assert current.supersedes == old
    assert sorted(t.name for t in old.themes.all()) == ["Price", "Value"]


@pytest.mark.django_db
def test_reimport_with_changed_text_is_refused_whole(prepare_project):
    project = prepare_project.project
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("a.csv", GOOD.encode()))
    count = project.responses.count()
    changed = "respondent_id,response\nR50,new respondent\nR2,Box came very late\n"
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("b.csv", changed.encode()))
    assert job.status == ImportJob.Status.FAILED
    assert "row 3: respondent 'R2' is already in the project with a different response" in job.message
    assert project.responses.count() == count


@pytest.mark.django_db
def test_xlsx_import(prepare_project):
    data = xlsx_bytes([["respondent_id", "response", "theme", "region"], ["X1", "Late again", "Delivery", "North"],
                       ["X2", "Great food", None, "South"]])
    job = import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("s.xlsx", data))
    assert job.summary == "imported 2 responses, 1 themes, 1 labels"
    assert prepare_project.project.responses.get(respondent_id="X2").metadata == {"region": "South"}


@pytest.mark.django_db
def test_a_finished_job_is_not_run_twice(prepare_project):
    from labeling_app.importing.services import import_job_run

    job = import_file_run(project=prepare_project.project, user=None,
                          upload=SimpleUploadedFile("a.csv", GOOD.encode()))
    count = Response.objects.count()
    assert import_job_run(import_job_id=job.pk) is None  # a redelivered task does nothing
    assert Response.objects.count() == count


@pytest.mark.django_db
def test_a_duplicate_delivery_skips_a_running_job_but_its_own_redelivery_runs(prepare_project):
    from django.utils import timezone

    from labeling_app.importing.services import import_job_run

    job = ImportJob.objects.create(project=prepare_project.project, original_name="a.csv",
                                   file=SimpleUploadedFile("a.csv", GOOD.encode()),
                                   status=ImportJob.Status.RUNNING, task_id="first", started_at=timezone.now(),
                                   heartbeat_at=timezone.now())
    assert import_job_run(import_job_id=job.pk, task_id="duplicate") is None
    assert Response.objects.filter(project=prepare_project.project, respondent_id="R1").count() == 0
    done = import_job_run(import_job_id=job.pk, task_id="first")  # the lost worker's task, redelivered
    assert done.status == ImportJob.Status.SUCCEEDED
    assert done.summary == "imported 3 responses, 3 themes, 3 labels"


@pytest.mark.django_db
def test_project_counts_count_each_label_once(prepare_project):
    from labeling_app.labeling.selectors.counts import project_counts

    import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile("a.csv", GOOD.encode()))
    counts = project_counts(project=prepare_project.project)
    assert counts["labels"] == 3 and counts["coded_responses"] == 2
    assert counts["responses"] == 3 + 3  # the fixture's three plus the file's


@pytest.mark.django_db
def test_the_row_column_and_unpacked_size_limits_come_from_settings(prepare_project, settings):
    settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS = 2, 3
    cases = [
        (b"respondent_id,response\nR1,a\nR2,b\nR3,c\n", "f.csv", "row 4: too many rows: the file goes on past row 3"),
        (b"respondent_id,response,a,b\nR1,x,y,z\n", "f.csv", "row 1: too many columns: 4 fields, the limit is 3"),
    ]
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 5_000  # a workbook's parts unpack to about 6 KB
    cases.append((xlsx_bytes([["respondent_id", "response"], ["R1", "a"]]), "f.xlsx", "too large when unpacked"))
    for data, name, expected in cases:
        job = import_file_run(project=prepare_project.project, user=None, upload=SimpleUploadedFile(name, data))
        assert job.status == ImportJob.Status.FAILED and expected in job.message, job.message
    assert not Response.objects.filter(project=prepare_project.project, respondent_id="R1").exists()


@pytest.mark.django_db
def test_uploads_are_deleted_once_their_retention_has_passed(settings, prepare_project):
    from datetime import timedelta
    from pathlib import Path

    from django.utils import timezone

    from labeling_app.importing.services import import_uploads_prune

    settings.IMPORT_UPLOAD_RETENTION_HOURS = 24
    project = prepare_project.project
    good = import_file_run(project=project, user=None,
                           upload=SimpleUploadedFile("ok.csv", b"respondent_id,response\nK1,kept a while\n"))
    bad = import_file_run(project=project, user=None, upload=SimpleUploadedFile("bad.csv", b"no,columns\n1,2\n"))
    assert {good.status, bad.status} == {"succeeded", "failed"}
    paths = {job.pk: Path(job.file.path) for job in (good, bad)}
    assert all(p.is_file() for p in paths.values())  # within the retention: kept
    ImportJob.objects.filter(pk=bad.pk).update(finished_at=timezone.now() - timedelta(hours=25))
    assert import_uploads_prune() == 1
    assert not paths[bad.pk].exists() and paths[good.pk].is_file()
    bad.refresh_from_db()
    assert not bad.file and bad.status == "failed" and bad.errors  # the record and its errors stay
    assert bad.file_purged_at is not None  # and it says when the file went
    assert import_uploads_prune() == 0  # idempotent: nothing left to purge
    settings.IMPORT_UPLOAD_RETENTION_HOURS = 0  # keep nothing: gone as soon as the import finishes
    again = import_file_run(project=project, user=None,
                            upload=SimpleUploadedFile("now.csv", b"respondent_id,response\nK2,gone at once\n"))
    assert not again.file and not paths[good.pk].exists()


@pytest.mark.django_db
def test_the_periodic_task_and_the_command_purge_expired_uploads_when_nobody_imports(settings, prepare_project):
    from datetime import timedelta
    from io import StringIO
    from pathlib import Path

    from django.core.management import call_command
    from django.utils import timezone

    from labeling_app.importing.tasks import import_uploads_purge

    settings.IMPORT_UPLOAD_RETENTION_HOURS = 24
    project = prepare_project.project
    jobs = [import_file_run(project=project, user=None,
                            upload=SimpleUploadedFile(f"{k}.csv", f"respondent_id,response\nP{k},text {k}\n".encode()))
            for k in range(3)]
    paths = [Path(j.file.path) for j in jobs]
    old = timezone.now() - timedelta(hours=25)
    ImportJob.objects.filter(pk__in=[jobs[0].pk, jobs[1].pk]).update(finished_at=old)
    # The task takes no arguments (beat sends none) and returns how many files went; a second run finds nothing.
    assert import_uploads_purge.apply().get() == 2
    assert import_uploads_purge.apply().get() == 0
    assert not paths[0].exists() and not paths[1].exists() and paths[2].is_file()
    assert ImportJob.objects.filter(file="", file_purged_at__isnull=False).count() == 2
    ImportJob.objects.filter(pk=jobs[2].pk).update(finished_at=old)
    out = StringIO()
    call_command("purge_uploads", stdout=out)
    assert out.getvalue().strip() == "purged 1 upload(s) kept longer than 24 h"
    assert not paths[2].exists()
    assert ImportJob.objects.filter(project=project).count() == 3  # the jobs themselves stay
    # Beat sends the task hourly, by its registered name.
    assert settings.CELERY_BEAT_SCHEDULE["import-uploads-purge"]["task"] == import_uploads_purge.name


@pytest.mark.django_db
def test_theme_rows_and_coded_no_theme_rows_are_read_back(prepare_project):
    """The long CSV's own rows (README, Exports): the theme set with descriptions and archived state, and
    respondents coded with no theme; a theme row after the theme's first label still describes it."""
    project = prepare_project.project
    data = ("respondent_id,response,theme,plan,themeloop_row,theme_description\n"
            ",,Quality,,theme,\"Food quality, taste\"\n"
            ",,Old name,,archived_theme,Merged away\n"
            ",,price,,theme,Not applied: Price is the project's already\n"
            "R1,Too expensive,Price,Basic,response,\n"
            "R2,Just moving,,Family,coded_no_theme,\n"
            "R3,Not sure,,Basic,,\n"  # a blank kind is a respondent's row: uncoded here
            "R4,Tasty,Late,Basic,response,\n"
            ",,Late,,theme,Described after its first label\n")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data.encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.summary == "imported 4 responses, 4 themes, 2 labels" and job.themes_created == 3
    themes = {t.name: (t.description, t.archived, bool(t.shortcut)) for t in project.themes.all()}
    assert themes["Quality"] == ("Food quality, taste", False, True)
    assert themes["Old name"] == ("Merged away", True, False)  # archived, so it holds no key
    assert themes["Late"] == ("Described after its first label", False, True)
    assert themes["Price"] == ("", False, True)  # the project's own theme is left as it is
    r2 = project.responses.get(respondent_id="R2")
    assert r2.metadata == {"plan": "Family"}  # the marker columns are not metadata
    coded = r2.annotations.get(is_current=True)
    assert (coded.is_complete, coded.needs_recoding, coded.themes.count()) == (True, False, 0)
    assert not project.responses.get(respondent_id="R3").annotations.exists()


@pytest.mark.django_db
def test_a_client_file_without_the_marker_column_imports_as_before(prepare_project):
    project = prepare_project.project
    data = "respondent_id,response,theme,theme_description\nR1,Too expensive,Price,cheap\nR2,Moving,,\n"
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data.encode()))
    assert job.summary == "imported 2 responses, 1 themes, 1 labels"
    assert project.responses.get(respondent_id="R1").metadata == {"theme_description": "cheap"}
    assert not project.responses.get(respondent_id="R2").annotations.exists()  # a blank theme: uncoded


@pytest.mark.django_db
def test_an_agreed_no_theme_from_coder_columns_is_a_coded_response_and_exported_so(prepare_project):
    import csv

    from labeling_app.exporting.services import long_csv_export
    from labeling_app.insights.selectors.insights import InsightsScope
    from labeling_app.labeling.selectors.counts import project_counts

    project = prepare_project.project
    data = ("respondent_id,response,theme,coder\nN1,Nothing to add,,ann\nN1,Nothing to add,,bob\n"
            "P1,Too dear,Price,ann\nP1,Too dear,Price,bob\n")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data.encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    n1 = project.responses.get(respondent_id="N1")
    codings = [(a.coder.first_name, a.is_complete, a.needs_recoding, a.themes.count())
               for a in n1.annotations.filter(is_current=True).order_by("coder__first_name")]
    assert codings == [("ann", True, False, 0), ("bob", True, False, 0)]
    counts = project_counts(project=project)
    assert (counts["coded_responses"], counts["labels"]) == (2, 1)  # N1 is coded; P1's two coders agree on one
    rows = list(csv.DictReader(io.StringIO(long_csv_export(InsightsScope(project=project)).decode())))
    assert [(r["theme"], r["themeloop_row"]) for r in rows if r["respondent_id"] == "N1"] == [("", "coded_no_theme")]


@pytest.mark.django_db
@pytest.mark.parametrize("part", ["xl/workbook.xml", "[Content_Types].xml", "xl/worksheets/sheet1.xml"])
def test_a_malformed_xlsx_is_reported_under_its_own_name_not_the_stored_path(prepare_project, settings, part):
    # Issue 26: openpyxl said "could not read workbook from imports/2026/12/broken_x7Yz.xlsx", the server's
    # own name for the upload.
    import io
    import zipfile

    good = xlsx_bytes([["respondent_id", "response", "theme"], ["R1", "Too dear", "Price"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'
                         if info.filename == part else src.read(info))
    job = import_file_run(project=prepare_project.project, user=prepare_project.admin,
                          upload=SimpleUploadedFile("broken.xlsx", out.getvalue()))
    assert job.status == ImportJob.Status.FAILED
    said = job.message + repr(job.errors)
    assert "not a readable XLSX file" in said
    assert job.file.name not in said and "imports/" not in said and str(settings.MEDIA_ROOT) not in said
    assert "broken_" not in said
