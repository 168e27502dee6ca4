"""Turn an uploaded file's bytes into a header and rows of strings, whatever its format."""
import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from labeling_app.importing.errors import ImportFileError, RowError

CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx",)
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    """A header and data rows; numbers[i] is rows[i]'s line number in the file (header = 1)."""

    header: list[str]
    rows: list[list[str]]
    numbers: list[int]


def read_table(data: bytes, filename: str, *, max_bytes: int) -> Table:
    """Read a CSV (UTF-8, UTF-8 with BOM or Windows-1252) or an XLSX file into a Table."""
    name = filename.lower()
    if len(data) == 0:
        raise ImportFileError([RowError("the file is empty (0 bytes)")])
    if len(data) > max_bytes:
        raise ImportFileError(
            [RowError(f"file too large: {len(data) / 1e6:.1f} MB, the limit is {max_bytes / 1e6:.1f} MB")]
        )
    if name.endswith(XLSX_EXTENSIONS):
        if not data.startswith(ZIP_MAGIC):
            raise ImportFileError([RowError("not an XLSX file: the content is not an Excel workbook")])
        return _read_xlsx(data)
    if not name.endswith(CSV_EXTENSIONS):
        raise ImportFileError([RowError(f"not a CSV or XLSX file: {filename!r}; upload .csv or .xlsx")])
    if data.startswith(ZIP_MAGIC) or b"\x00" in data[:65536]:
        raise ImportFileError([RowError("not a CSV file: the content is binary; upload .csv or .xlsx")])
    return _read_csv(_decode(data))


def _decode(data: bytes) -> str:
    # UTF-8 first (with or without BOM); Excel on Windows writes Windows-1252.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        [RowError("unreadable encoding: the file is neither UTF-8 nor Windows-1252; save it as CSV UTF-8")]
    )


def _read_csv(text: str) -> Table:
    # csv.Sniffer misreads long free text; the header line tells the delimiter reliably
    # (Excel in many European locales writes ";").
    header_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=header_line.count) if header_line.count(",") == 0 else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise ImportFileError([RowError(f"not a readable CSV file: {exc}")]) from exc
    return _table_from_records(records)


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError([RowError(f"not a readable XLSX file: {exc}")]) from exc
    try:
        sheet = workbook.worksheets[0]
        records = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    # Excel pads rows to the sheet's width: trailing empty cells are not ragged rows.
    width = max((_last_filled(r) for r in records), default=0)
    return _table_from_records([r[:width] + [""] * (width - len(r)) for r in records])


def _last_filled(row: list[str]) -> int:
    for i in range(len(row), 0, -1):
        if row[i - 1] != "":
            return i
    return 0


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _table_from_records(records: list[list[str]]) -> Table:
    # Blank lines carry nothing; drop them but keep row numbers right.
    numbered = [(i + 1, r) for i, r in enumerate(records) if any(c.strip() for c in r)]
    if not numbered:
        raise ImportFileError([RowError("the file has no header and no rows")])
    (_, header), body = numbered[0], numbered[1:]
    header = [h.strip() for h in header]
    errors: list[RowError] = []
    rows: list[list[str]] = []
    kept: list[tuple[int, list[str]]] = []
    for number, record in body:
        if len(record) != len(header):
            extra = record[len(header):]
            if len(record) > len(header) and not any(c.strip() for c in extra):
                record = record[: len(header)]
            else:
                errors.append(
                    RowError(f"ragged row: {len(record)} fields where the header has {len(header)}", number)
                )
                continue
        rows.append([str(c) for c in record])
        kept.append((number, record))
    if errors:
        raise ImportFileError(errors)
    return Table(header=header, rows=rows, numbers=[n for n, _ in kept])
