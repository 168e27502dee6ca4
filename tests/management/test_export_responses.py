import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from labeling_app.projects.models import Project


@pytest.mark.django_db
def test_export_then_import_gives_the_same_summary_and_texts(tmp_path, capsys):
    source = tmp_path / "source.csv"
    source.write_text("respondent_id,response,theme,plan\nR1,=1+1 is my bill,Price,Basic\nR1,=1+1 is my bill,Value,Basic\n"
                      "R2,Box came late,Delivery,Family\nR3,Moving abroad,,Basic\n")
    call_command("import_responses", str(source), project="First")
    summary = capsys.readouterr().out.strip()
    assert summary == "imported 3 responses, 3 themes, 3 labels"
    exported = tmp_path / "out.csv"
    call_command("export_responses", str(exported), project="First", format="csv")
    assert capsys.readouterr().out.startswith("wrote ")
    assert "'=1+1 is my bill" in exported.read_text()
    call_command("import_responses", str(exported), project="Second")
    assert capsys.readouterr().out.strip() == summary
    texts = sorted(Project.objects.get(name="Second").responses.values_list("text", flat=True))
    assert texts == sorted(Project.objects.get(name="First").responses.values_list("text", flat=True))
    assert "=1+1 is my bill" in texts


@pytest.mark.django_db
def test_wide_xlsx_and_filters(tmp_path):
    source = tmp_path / "source.csv"
    source.write_text("respondent_id,response,theme,plan\nR1,Too dear,Price,Basic\nR2,Late box,Delivery,Family\n")
    call_command("import_responses", str(source), project="First")
    wide = tmp_path / "wide.csv"
    call_command("export_responses", str(wide), project="First", format="csv-wide", meta=["plan:Family"])
    rows = list(csv.DictReader(io.StringIO(wide.read_text())))
    assert [(r["respondent_id"], r["Price"], r["Delivery"]) for r in rows] == [("R2", "0", "1")]
    book = tmp_path / "book.xlsx"
    call_command("export_responses", str(book), project="First", format="xlsx", segment="plan", source="model")
    assert load_workbook(book).sheetnames == ["responses", "labels", "prevalence", "segments", "differences", "terms",
                                              "cooccurrence", "combinations", "quotes", "about"]
    assert load_workbook(book)["responses"]["F1"].value == "label_source"
    report = tmp_path / "report.html"
    call_command("export_responses", str(report), project="First", format="html", meta=["plan:Basic"])
    assert "Too dear" in report.read_text() and "Late box" not in report.read_text()
    with pytest.raises(CommandError, match="no project named"):
        call_command("export_responses", str(book), project="Nope")
    with pytest.raises(CommandError, match="KEY:VALUE"):
        call_command("export_responses", str(book), project="First", meta=["plan"])


@pytest.mark.django_db
def test_a_pdf_chromium_cannot_print_is_a_command_error_saying_so(tmp_path, settings):
    source = tmp_path / "source.csv"
    source.write_text("respondent_id,response,theme\nR1,Too dear,Price\n")
    call_command("import_responses", str(source), project="First")
    settings.REPORT_CHROMIUM = str(tmp_path / "no-chromium")
    with pytest.raises(CommandError, match="setting REPORT_CHROMIUM"):
        call_command("export_responses", str(tmp_path / "r.pdf"), project="First", format="pdf")
    assert not (tmp_path / "r.pdf").exists()
