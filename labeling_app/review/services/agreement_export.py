"""The agreement figures as files a lead can hand on: CSV and XLSX, formulas neutralised."""
import csv
import io

from openpyxl import Workbook

THEME_COLUMNS = ["theme", "alpha", "alpha_low", "alpha_high", "ac1", "ac1_low", "ac1_high", "percent", "items",
                 "flag", "disagreements"]
PAIR_COLUMNS = ["coder_a", "coder_b", "kappa", "kappa_low", "kappa_high", "ac1", "items"]


def _safe(value: object) -> object:
    # A cell starting with = + - @ or a tab would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "nan" if value is None else value


def _theme_rows(report: dict) -> list[list[object]]:
    return [[row["name"], row["alpha"], *row["alpha_ci"], row["ac1"], *row["ac1_ci"], row["percent"], row["items"],
             row["flag"], row["disagreements"]] for row in report["themes"]]


def _pair_rows(report: dict) -> list[list[object]]:
    return [[p["name_a"], p["name_b"], p["kappa"], *p["kappa_ci"], p["ac1"], p["items"]] for p in report["pairs"]]


def agreement_csv_render(report: dict) -> str:
    """Per theme, then a blank line and the pair kappas, then the overall line."""
    out = io.StringIO()
    writer = csv.writer(out)
    for header, rows in ((THEME_COLUMNS, _theme_rows(report)), (PAIR_COLUMNS, _pair_rows(report))):
        writer.writerow(header)
        writer.writerows([[_safe(v) for v in row] for row in rows])
        writer.writerow([])
    writer.writerow(["items", "coders", "alpha_masi"])
    writer.writerow([report["items"], len(report["coders"]), _safe(report["overall"]["alpha_masi"])])
    return out.getvalue()


def agreement_xlsx_render(report: dict) -> bytes:
    """A workbook with a sheet per theme figures, pair kappas and the overall figure."""
    book = Workbook()
    sheets = [("Themes", THEME_COLUMNS, _theme_rows(report)), ("Coder pairs", PAIR_COLUMNS, _pair_rows(report)),
              ("Overall", ["items", "coders", "alpha_masi"],
               [[report["items"], len(report["coders"]), report["overall"]["alpha_masi"]]])]
    for n, (title, header, rows) in enumerate(sheets):
        sheet = book.active if n == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        sheet.append(header)
        for row in rows:
            sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
