"""The pure import pipeline: bytes in, validated rows out."""
import io

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
