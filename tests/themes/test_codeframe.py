"""Codeframes (issue 25): nets above codes, stable code numbers, and the codeframe as a file that round-trips."""
import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from labeling_app.audit.models import AuditEvent
from labeling_app.exporting.codeframe_export import codeframe_csv_export, codeframe_xlsx_export
from labeling_app.exporting.services import long_csv_export
from labeling_app.importing.codeframes.services import codeframe_import
from labeling_app.importing.errors import ImportFileError
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope
from labeling_app.labeling.services.theme_recode import theme_merge, theme_split
from labeling_app.projects.models import Project
from labeling_app.themes.models import Net, Theme
from labeling_app.themes.services.themes import theme_create, theme_set_copy, theme_update

pytestmark = pytest.mark.django_db


def _project(name: str = "Wave 1") -> Project:
    return Project.objects.create(name=name, question="Why?")


def _framed() -> Project:
    """Six codes under two nets and none, one archived by a merge, one split."""
    project = _project()
    price = theme_create(project=project, name="Price", net="Money", description="costs too much")
    theme_create(project=project, name="Fees", net="Money")
    slow = theme_create(project=project, name="Slow support", net="Service", shortcut="s")
    theme_create(project=project, name="Rude staff", net="Service")
    theme_create(project=project, name="Other")
    billing = theme_create(project=project, name="Billing errors", net="Money")
    theme_merge(project=project, source=billing, target=price)
    theme_split(project=project, theme=slow, names=["Slow replies", "Long queues"])
    return project


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_codes_are_numbered_once_and_never_given_again():
    project = _project()
    a, b = theme_create(project=project, name="A"), theme_create(project=project, name="B")
    assert (a.code, b.code) == (1, 2)
    theme_update(theme=b, archived=True, name="B old", code=99)  # a number cannot be edited
    b.refresh_from_db()
    assert b.code == 2
    assert theme_create(project=project, name="C").code == 3  # 2 is archived, not free
    other = _project("Other project")
    assert theme_create(project=other, name="A").code == 1  # numbers are per project


def test_merge_and_split_say_which_numbers_went_where():
    project = _framed()
    by_name = {t.name: t for t in project.themes.all()}
    assert by_name["Billing errors"].archived and by_name["Billing errors"].replaced_by == str(by_name["Price"].code)
    assert by_name["Slow support"].replaced_by == f"{by_name['Slow replies'].code};{by_name['Long queues'].code}"
    assert by_name["Slow replies"].net.name == "Service"  # a split's codes stay under the net
    merge = AuditEvent.objects.get(project=project, action="theme.merge")
    assert merge.before["code"] == by_name["Billing errors"].code and merge.after["code"] == by_name["Price"].code


def test_the_codeframe_round_trips_through_csv_and_xlsx():
    project = _framed()
    first = codeframe_csv_export(project=project)
    rows = _rows(first)
    assert rows[0] == ["code", "net_code", "net", "name", "description", "key", "archived", "replaced_by"]
    assert ["1", "1", "Money", "Price", "costs too much", rows[1][5], "", ""] == rows[1]
    again = _project("Wave 2")
    assert codeframe_import(project=again, data=first, filename="frame.csv") == {"created": len(rows) - 1,
                                                                               "updated": 0}
    assert codeframe_csv_export(project=again) == first
    # XLSX: the same cells (the file's bytes carry a timestamp).
    book = codeframe_xlsx_export(project=project)
    third = _project("Wave 3")
    codeframe_import(project=third, data=book, filename="frame.xlsx")

    def cells(data: bytes) -> list[tuple]:
        return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert cells(codeframe_xlsx_export(project=third)) == cells(book)
    assert codeframe_csv_export(project=third) == first
    # Applying the master codeframe again changes nothing.
    assert codeframe_import(project=again, data=first, filename="frame.csv") == {"created": 0, "updated": 0}


def test_a_codeframe_that_gives_a_number_to_another_name_changes_nothing():
    project = _framed()
    before = codeframe_csv_export(project=project)
    rows = _rows(before)
    rows[1][3] = "Cost"  # code 1 is Price here
    rows.append(["50", "", "", "Brand new", "", "", "", ""])
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    with pytest.raises(ValidationError) as caught:
        codeframe_import(project=project, data=out.getvalue().encode(), filename="frame.csv")
    assert "code 1 is “Price” in this project, the file calls it “Cost”" in caught.value.messages[0]
    assert codeframe_csv_export(project=project) == before
    assert not project.themes.filter(name="Brand new").exists()


def test_a_bad_codeframe_file_lists_every_problem():
    data = (b"code,net,name,key,archived\n1,Money,Price,p,\n1,Money,Fees,p,\nx,,Other,pp,maybe\n,,price,,\n"
            )
    with pytest.raises(ImportFileError) as caught:
        codeframe_import(project=_project(), data=data, filename="frame.csv")
    text = str(caught.value) + " " + " ".join(str(e) for e in caught.value.errors)
    for expected in ("code 1 is on row 2 too", "key 'p' is on row 2 too", "code 'x' is not a whole number",
                     "key 'pp' is not one letter", "archived is 'maybe'", "name 'price' is on row 2 too"):
        assert expected in text, text


def test_a_hand_made_codeframe_without_numbers_gets_the_next_ones_and_keeps_existing_codes():
    project = _project()
    theme_create(project=project, name="Price")
    data = b"name,net,description\nPrice,Money,cost\nFees,Money,\nStaff,,\n"
    assert codeframe_import(project=project, data=data, filename="frame.csv") == {"created": 2, "updated": 1}
    codes = {t.name: (t.code, t.net.name if t.net else "", t.description) for t in project.themes.all()}
    assert codes == {"Price": (1, "Money", "cost"), "Fees": (2, "Money", ""), "Staff": (3, "", "")}


def test_a_template_copy_keeps_nets_and_numbers():
    source = _framed()
    target = _project("Next wave")
    theme_set_copy(source=source, target=target)
    pairs = {(t.code, t.name, t.net.name if t.net else None) for t in target.themes.all()}
    assert pairs == {(t.code, t.name, t.net.name if t.net else None) for t in source.themes.filter(archived=False)}


def test_an_import_reads_the_net_column_and_refuses_a_theme_under_two_nets():
    project = _project()
    good = (b"respondent_id,response,theme,net,region\n1,too dear,Price,Money,N\n1,too dear,Slow,Service,N\n"
            b"2,slow,Slow,Service,S\n3,fine,,,S\n")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", good))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    assert {t.name: t.net.name for t in project.themes.all()} == {"Price": "Money", "Slow": "Service"}
    assert project.responses.get(respondent_id="1").metadata == {"region": "N"}  # net is not metadata
    bad = b"respondent_id,response,theme,net\n1,a,Price,Money\n2,b,Price,Costs\n"
    other = _project("Bad")
    job = import_file_run(project=other, user=None, upload=SimpleUploadedFile("f.csv", bad))
    assert job.status == ImportJob.Status.FAILED
    assert "under net 'Costs' here but under 'Money' on row 2" in job.message
    assert not other.themes.exists() and not Net.objects.filter(project=other).exists()


def test_the_long_export_carries_nets_and_reimports_them():
    project = _framed()
    data = long_csv_export(InsightsScope(project=project))
    again = _project("Copy")
    job = import_file_run(project=again, user=None, upload=SimpleUploadedFile("f.csv", data))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    assert ({(t.name, t.net.name if t.net else "", t.archived) for t in again.themes.all()}
            == {(t.name, t.net.name if t.net else "", t.archived) for t in project.themes.all()})


def test_theme_numbers_survive_an_edit_of_everything_else():
    project = _framed()
    theme = Theme.objects.get(project=project, name="Fees")
    code = theme.code
    theme_update(theme=theme, name="Charges", net="Service", description="d", shortcut="")
    theme.refresh_from_db()
    assert (theme.code, theme.name, theme.net.name) == (code, "Charges", "Service")
    theme_update(theme=theme, net="")
    theme.refresh_from_db()
    assert theme.net is None


def test_the_codeframe_endpoints_download_and_apply_a_file(prepare_project):
    project = prepare_project.project
    theme_update(theme=project.themes.first(), net="Money")
    admin = prepare_project.client("admin")
    got = admin.get(f"/api/projects/{project.pk}/codeframe/?format=csv")
    assert got.status_code == 200 and got["Content-Disposition"].endswith('-codeframe.csv"')
    assert got.content == codeframe_csv_export(project=project)
    bad = admin.post(f"/api/projects/{project.pk}/codeframe/import/",
                     {"file": SimpleUploadedFile("f.csv", b"code,name\n1,Renamed\n")}, format="multipart")
    assert bad.status_code == 400 and "the file calls it “Renamed”" in bad.content.decode()
    ok = admin.post(f"/api/projects/{project.pk}/codeframe/import/",
                    {"file": SimpleUploadedFile("f.csv", b"code,net,name\n77,Money,Deposits\n")}, format="multipart")
    assert ok.status_code == 200 and ok.json() == {"created": 1, "updated": 0}
    assert project.themes.get(code=77).net.name == "Money"
    assert admin.get(f"/api/projects/{project.pk}/codeframe/?format=pdf").status_code == 400


def test_the_themes_page_shows_numbers_and_nets_and_imports_a_codeframe(prepare_project):
    from django.test import Client

    project = prepare_project.project
    client = Client()
    client.force_login(prepare_project.user("admin"))
    page = client.post(f"/projects/{project.pk}/themes/",
                       {"action": "codeframe", "codeframe": SimpleUploadedFile("f.csv", b"name,net\nDeposits,Money\n")},
                       follow=True)
    assert "Codeframe imported: 1 codes added" in page.content.decode()
    theme = project.themes.get(name="Deposits")
    html = client.get(f"/projects/{project.pk}/themes/").content.decode()
    assert f'data-code="{theme.code}"' in html and 'value="Money"' in html
    download = client.get(f"/projects/{project.pk}/codeframe/?format=xlsx")
    assert download.status_code == 200 and load_workbook(io.BytesIO(download.content)).active["D1"].value == "name"
