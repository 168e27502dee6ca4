"""Turn an uploaded file's bytes into a header and rows of strings, whatever its format.

Files come from users: rows are read as a stream with limits on rows, columns and (for XLSX, a zip) the
unpacked size, so a small hostile file cannot make a worker fill memory or run for minutes.
"""
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from labeling_app.importing.errors import ImportFileError, RowError

CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx",)
ZIP_MAGIC = b"PK\x03\x04"
MAX_ROW_ERRORS = 50
# Defaults of the IMPORT_MAX_* settings, for callers outside Django (notebooks, the tests' fixtures).
DEFAULT_MAX_ROWS = 500_000
DEFAULT_MAX_COLUMNS = 200
DEFAULT_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024


@dataclass
class Table:
    """A header and data rows; numbers[i] is rows[i]'s line number in the file (header = 1).

    errors holds row problems found while reading (ragged rows); the parser reports them with its own.
    """

    header: list[str]
    rows: list[list[str]]
    numbers: list[int]
    errors: list[RowError] = field(default_factory=list)


def read_table(data: bytes, filename: str, *, max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS,
               max_columns: int = DEFAULT_MAX_COLUMNS,
               max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES) -> Table:
    """Read a CSV (UTF-8, UTF-8 with BOM or Windows-1252) or an XLSX file into a Table.

    max_rows counts data rows (the header is row 1); a file going past row max_rows + 1, or with a cell
    beyond column max_columns, or an XLSX whose parts unpack to more than max_uncompressed_bytes, is refused.
    """
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
        return _read_xlsx(data, max_rows=max_rows, max_columns=max_columns,
                          max_uncompressed_bytes=max_uncompressed_bytes)
    if not name.endswith(CSV_EXTENSIONS):
        raise ImportFileError([RowError(f"not a CSV or XLSX file: {filename!r}; upload .csv or .xlsx")])
    if data.startswith(ZIP_MAGIC) or b"\x00" in data[:65536]:
        raise ImportFileError([RowError("not a CSV file: the content is binary; upload .csv or .xlsx")])
    return _read_csv(_decode(data), max_rows=max_rows, max_columns=max_columns)


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


def _read_csv(text: str, *, max_rows: int, max_columns: int) -> Table:
    # csv.Sniffer misreads long free text; the header line tells the delimiter reliably
    # (Excel in many European locales writes ";").
    header_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=header_line.count) if header_line.count(",") == 0 else ","
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return _table_from_records(enumerate(records, start=1), max_rows=max_rows, max_columns=max_columns)
    except csv.Error as exc:
        raise ImportFileError([RowError(f"not a readable CSV file: {exc}")]) from exc


def _read_xlsx(data: bytes, *, max_rows: int, max_columns: int, max_uncompressed_bytes: int) -> Table:
    from openpyxl import load_workbook

    try:
        # The central directory states each part's unpacked size; zipfile never inflates a part past
        # it, so checking the sum first bounds everything parsed below (a zip bomb is refused unread).
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_uncompressed_bytes:
            raise ImportFileError([RowError(
                f"XLSX file too large when unpacked: {unpacked / 1e6:,.1f} MB of content, the limit is "
                f"{max_uncompressed_bytes / 1e6:,.1f} MB; split the file or save it as CSV")])
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as exc:
        raise ImportFileError([RowError(f"not a readable XLSX file: {exc}")]) from exc
    try:
        sheet = workbook.worksheets[0]
        # The sheet's declared size (e.g. A1:XFD1048576) is not trusted: without it, missing rows come as
        # empty tuples and each row only as wide as its last stored cell.
        sheet.reset_dimensions()
        records = _xlsx_records(sheet.iter_rows(values_only=True), max_columns)
        return _table_from_records(records, max_rows=max_rows, max_columns=max_columns, pad_short=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as exc:
        raise ImportFileError([RowError(f"not a readable XLSX file: {exc}")]) from exc
    finally:
        workbook.close()


def _xlsx_records(rows: Iterable[Sequence[object]], max_columns: int) -> Iterator[tuple[int, list[str]]]:
    for number, values in enumerate(rows, start=1):
        # Excel pads rows with empty (styled) cells: trailing empty cells are not ragged rows.
        width = _last_filled(values)
        if width > max_columns:
            raise ImportFileError(
                [RowError(f"too many columns: a cell in column {width:,}, the limit is {max_columns:,}", number)]
            )
        yield number, [_cell_text(v) for v in values[:width]]


def _last_filled(row: Sequence[object]) -> int:
    for i in range(len(row), 0, -1):
        if row[i - 1] is not None and row[i - 1] != "":
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


def _table_from_records(records: Iterable[tuple[int, list[str]]], *, max_rows: int, max_columns: int,
                        pad_short: bool = False) -> Table:
    """Build a Table from (line number, fields) pairs, read one at a time; blank lines are skipped.

    pad_short: a row shorter than the header is padded with empty fields (spreadsheet rows end at their
    last filled cell) instead of being a ragged row (a CSV line with fields missing).
    """
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    errors: list[RowError] = []
    for number, record in records:
        if number > max_rows + 1:
            raise ImportFileError([RowError(
                f"too many rows: the file goes on past row {max_rows + 1:,}; the limit is {max_rows:,} data rows",
                number)])
        if len(record) > max_columns:
            raise ImportFileError(
                [RowError(f"too many columns: {len(record):,} fields, the limit is {max_columns:,}", number)]
            )
        if not any(c.strip() for c in record):
            continue  # blank lines carry nothing; row numbers stay right
        if header is None:
            header = [h.strip() for h in record]
            continue
        if pad_short and len(record) < len(header):
            record = record + [""] * (len(header) - len(record))
        if len(record) > len(header) and not any(c.strip() for c in record[len(header):]):
            record = record[: len(header)]  # trailing empty fields (a spreadsheet's trailing commas)
        if len(record) != len(header):
            if len(errors) < MAX_ROW_ERRORS:
                errors.append(RowError(f"ragged row: {len(record)} fields where the header has {len(header)}",
                                       number))
            continue
        rows.append([str(c) for c in record])
        numbers.append(number)
    if header is None:
        raise ImportFileError([RowError("the file has no header and no rows")])
    return Table(header=header, rows=rows, numbers=numbers, errors=errors)
