"""Agreement figures as CSV and XLSX: every theme and pair, and no cell a spreadsheet would run as a formula."""
import csv
import io

from openpyxl import load_workbook

from labeling_app.review.services.agreement_export import agreement_csv_render, agreement_xlsx_render

REPORT = {
    "items": 12,
    "coders": [{"coder": 1, "name": "=HYPERLINK(\"x\")"}, {"coder": 2, "name": "Sam"}],
    "overall": {"alpha_masi": 0.61, "alpha_masi_ci": [0.4, 0.8], "items": 12},
    "themes": [
        {"name": "+Price", "alpha": 0.5, "alpha_ci": [0.2, 0.7], "ac1": 0.8, "ac1_ci": [0.6, 0.9], "percent": 0.9,
         "items": 12, "flag": "unreliable", "disagreements": 3},
        {"name": "Delivery", "alpha": None, "alpha_ci": [None, None], "ac1": 1.0, "ac1_ci": [1.0, 1.0],
         "percent": 1.0, "items": 12, "flag": "undefined", "disagreements": 0},
    ],
    "pairs": [{"name_a": "=HYPERLINK(\"x\")", "name_b": "Sam", "kappa": 0.4, "kappa_ci": [0.1, 0.6], "ac1": 0.7,
               "items": 12}],
}


def test_csv_has_every_theme_the_pairs_and_the_overall_line_with_formulas_neutralised():
    rows = list(csv.reader(io.StringIO(agreement_csv_render(REPORT))))
    assert rows[1][:2] == ["'+Price", "0.5"] and rows[2][:2] == ["Delivery", "nan"]
    pair = rows[rows.index(["coder_a", "coder_b", "kappa", "kappa_low", "kappa_high", "ac1", "items"]) + 1]
    assert pair[0] == "'=HYPERLINK(\"x\")" and pair[2] == "0.4"
    assert rows[-2:] == [["items", "coders", "alpha_masi"], ["12", "2", "0.61"]]


def test_xlsx_has_a_sheet_per_view_and_no_formula_cells():
    book = load_workbook(io.BytesIO(agreement_xlsx_render(REPORT)))
    assert book.sheetnames == ["Themes", "Coder pairs", "Overall"]
    cells = [c.value for sheet in book for row in sheet.iter_rows() for c in row]
    assert "'+Price" in cells and "'=HYPERLINK(\"x\")" in cells
    assert not any(isinstance(v, str) and v[:1] in "=+-@" for v in cells)
