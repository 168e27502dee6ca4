"""A project's codeframe as a file of its own (CSV or XLSX): the columns a codeframe import reads back."""
import csv
import io

from openpyxl import Workbook

from labeling_app.exporting.services import cell_neutralise
from labeling_app.projects.models import Project
from labeling_app.themes.selectors import CODEFRAME_COLUMNS, codeframe_rows

CODEFRAME_FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"),
                     "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}


def codeframe_csv_export(*, project: Project) -> bytes:
    """The codeframe as CSV (UTF-8, one row per code, archived codes too; texts neutralised)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CODEFRAME_COLUMNS)
    writer.writerows([["" if v is None else cell_neutralise(v) for v in row.cells()]
                      for row in codeframe_rows(project=project)])
    return out.getvalue().encode("utf-8")


def codeframe_xlsx_export(*, project: Project) -> bytes:
    """The codeframe as a one-sheet workbook, numbers as numbers."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("codeframe")
    sheet.append(list(CODEFRAME_COLUMNS))
    for row in codeframe_rows(project=project):
        sheet.append([cell_neutralise(v) for v in row.cells()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def codeframe_export(*, project: Project, fmt: str) -> bytes:
    """The codeframe in `fmt` (csv or xlsx)."""
    return codeframe_xlsx_export(project=project) if fmt == "xlsx" else codeframe_csv_export(project=project)
