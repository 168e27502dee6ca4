"""The pure import pipeline: bytes in, validated rows out."""
import gc
import io
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import psutil
import pytest
from openpyxl import Workbook

from labeling_app.importing.errors import ImportFileError
from labeling_app.importing.parser import parse_long_format
from labeling_app.importing.readers import read_table

LIMIT = 10_000_000
TEXT = "respondent_id,response,theme,plan\nR1,Too dear – really,Price,Basic\nR1,Too dear – really,Value,Basic\nR2,Café was closed,,Family\n"


def parse(data: bytes, name: str = "f.csv"):
    return parse_long_format(read_table(data, name, max_bytes=LIMIT), max_response_chars=20_000)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_give_the_same_rows(encoding):
    parsed = parse(TEXT.encode(encoding))
    assert [(r.respondent_id, r.text, r.themes, r.metadata) for r in parsed.respondents] == [
        ("R1", "Too dear – really", ["Price", "Value"], {"plan": "Basic"}),
        ("R2", "Café was closed", [], {"plan": "Family"}),
    ]
    assert parsed.theme_names == ["Price", "Value"]
    assert parsed.label_count == 2


def test_semicolon_csv_and_absent_theme_column():
    parsed = parse(b"respondent_id;response;age\nA;Fine, thanks;40\n")
    assert parsed.respondents[0].text == "Fine, thanks"
    assert parsed.respondents[0].metadata == {"age": "40"}
    assert parsed.theme_names == []


def test_xlsx_matches_csv():
    wb = Workbook()
    ws = wb.active
    ws.append(["respondent_id", "response", "theme", "tenure"])
    ws.append(["R1", "Too dear – really", "Price", 12])
    ws.append(["R1", "Too dear – really", "Value", 12])
    ws.append([7, "Moved abroad", None, 3.0])
    buf = io.BytesIO()
    wb.save(buf)
    parsed = parse(buf.getvalue(), "survey.xlsx")
    assert [(r.respondent_id, r.themes, r.metadata) for r in parsed.respondents] == [
        ("R1", ["Price", "Value"], {"tenure": "12"}),
        ("7", [], {"tenure": "3"}),
    ]


def test_theme_names_are_matched_case_and_space_insensitively():
    parsed = parse(b"respondent_id,response,theme\nR1,a,Price \nR2,b,price\nR2,b,  PRICE\n")
    assert parsed.theme_names == ["Price"]
    assert [r.themes for r in parsed.respondents] == [["Price"], ["Price"]]


def test_multiline_quoted_response_is_one_row():
    parsed = parse(b'respondent_id,response\nR1,"line one\nline two"\nR2,x\n')
    assert parsed.respondents[0].text == "line one\nline two"
    assert len(parsed.respondents) == 2


def test_plain_angle_brackets_are_text_not_markup():
    parsed = parse(b"respondent_id,response\nR1,I <3 the recipes & a < b\n")
    assert parsed.respondents[0].text == "I <3 the recipes & a < b"


def test_every_error_is_reported_with_its_row():
    data = b"respondent_id,response\nR1,\nR2,ok\nR2,different\n,orphan\n"
    with pytest.raises(ImportFileError) as exc:
        parse(data)
    assert [(e.row, e.message.split(" ")[0]) for e in exc.value.errors] == [
        (2, "empty"), (4, "respondent"), (5, "empty")
    ]


def test_a_file_with_several_problems_reports_every_one_repeated_respondents_included():
    data = (b"respondent_id,response,theme\n"
            b"R1,<script>x</script>,A\n"  # 2: markup
            b"R1,Plain text,A\n"  # 3: R1 again with another text
            b"R2,too,many,fields\n"  # 4: ragged
            b"R3,One answer,A\n"
            b"R3,Another answer,B\n"  # 6: R3 again with another text
            b",no id,A\n")  # 7: empty id
    with pytest.raises(ImportFileError) as exc:
        parse(data)
    assert [(e.row, e.message.split(" ")[0]) for e in exc.value.errors] == [
        (2, "response"), (3, "respondent"), (4, "ragged"), (6, "respondent"), (7, "empty")
    ]
    assert "first on row 2" in exc.value.errors[1].message and "first on row 5" in exc.value.errors[3].message


def _xlsx_rewritten(replace: dict[str, bytes | Callable[[zipfile.ZipFile], None]]) -> bytes:
    """A real workbook (header + one row) whose named parts are replaced: bytes, or a writer of the part."""
    source = io.BytesIO()
    wb = Workbook()
    wb.active.append(["respondent_id", "response"])
    wb.active.append(["R1", "fine"])
    wb.save(source)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            new = replace.get(info.filename)
            if new is None:
                zout.writestr(info, zin.read(info.filename))
            elif isinstance(new, bytes):
                zout.writestr(info.filename, new)
            else:
                with zout.open(info.filename, "w", force_zip64=True) as part:
                    new(part)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _full_dimension_sheet() -> bytes:
    """1.6 KB: declares A1:XFD1048576, with a header and one row at 1,048,576, the sheet's last row."""
    return _xlsx_rewritten({SHEET: SHEET_HEAD + (
        b'<dimension ref="A1:XFD1048576"/><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>respondent_id</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>response</t></is></c></row>'
        b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>R1</t></is></c>'
        b'<c r="B1048576" t="inlineStr"><is><t>far away</t></is></c></row>'
        b'</sheetData></worksheet>')})


def _zip_bomb() -> bytes:
    """About 0.3 MB that unpacks to 261 MB of sheet XML: 2.6 million rows of one cell each."""
    row = b'<row><c t="inlineStr"><is><t>the same answer again</t></is></c></row>'  # no r=: rows count up
    block = row * (1_000_000 // len(row))

    def write(part: Any) -> None:
        part.write(SHEET_HEAD + b"<sheetData>")
        for _ in range(261):
            part.write(block)
        part.write(b"</sheetData></worksheet>")

    return _xlsx_rewritten({SHEET: write})


def _measured(fn: Callable[[], object]) -> tuple[BaseException | None, float, float]:
    """Run fn; return what it raised, its seconds and the growth of this process's memory (MB) meanwhile."""
    process = psutil.Process()
    baseline, peak, done = process.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started, raised = time.monotonic(), None
    try:
        fn()
    except BaseException as exc:  # returned to the test to assert on (MemoryError included)
        raised = exc
    finally:
        done.set()
        sampler.join()
    return raised, time.monotonic() - started, (max(peak[0], process.memory_info().rss) - baseline) / 1e6


@pytest.mark.parametrize(("make", "expected"), [
    (_full_dimension_sheet, "too many rows: the file goes on past row 500,001"),
    (_zip_bomb, "XLSX file too large when unpacked: 261.0 MB of content"),
])
def test_hostile_xlsx_is_refused_quickly_in_flat_memory(make, expected):
    data = make()
    assert len(data) < 1_000_000
    gc.collect()
    raised, seconds, grown_mb = _measured(lambda: read_table(data, "hostile.xlsx", max_bytes=LIMIT))
    assert isinstance(raised, ImportFileError), raised
    assert expected in str(raised)
    assert seconds < 5, f"{seconds:.1f} s"
    assert grown_mb < 40, f"{grown_mb:.0f} MB"


def test_limits_on_rows_and_columns_count_data_rows_and_filled_cells():
    csv_rows = b"respondent_id,response\n" + b"".join(b"R%d,text\n" % i for i in range(5))
    assert len(read_table(csv_rows, "f.csv", max_bytes=LIMIT, max_rows=5).rows) == 5
    with pytest.raises(ImportFileError, match="past row 5; the limit is 4 data rows"):
        read_table(csv_rows, "f.csv", max_bytes=LIMIT, max_rows=4)
    with pytest.raises(ImportFileError, match="row 1: too many columns: 3 fields, the limit is 2"):
        read_table(b"respondent_id,response,plan\nR1,x,y\n", "f.csv", max_bytes=LIMIT, max_columns=2)
    head = (b'<dimension ref="A1:XFD4"/><sheetData>'
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>respondent_id</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>response</t></is></c><c r="XFD1" s="1"/></row>'  # a styled empty cell
            b'<row r="3"><c r="A3" t="inlineStr"><is><t>R1</t></is></c>'
            b'<c r="B3" t="inlineStr"><is><t>fine</t></is></c></row>')
    tail = b"</sheetData></worksheet>"
    table = read_table(_xlsx_rewritten({SHEET: SHEET_HEAD + head + tail}), "f.xlsx", max_bytes=LIMIT)
    assert (table.header, table.rows, table.numbers) == (["respondent_id", "response"], [["R1", "fine"]], [3])
    wide = SHEET_HEAD + head + b'<row r="4"><c r="A4" t="inlineStr"><is><t>R2</t></is></c><c r="XFD4"><v>1</v></c></row>' + tail
    with pytest.raises(ImportFileError, match="row 4: too many columns: a cell in column 16,384, the limit is 200"):
        read_table(_xlsx_rewritten({SHEET: wide}), "f.xlsx", max_bytes=LIMIT)
