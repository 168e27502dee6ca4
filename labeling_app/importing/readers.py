"""Turn an uploaded file's bytes into a header and rows of strings, whatever its format.

Files come from users: rows are read as a stream, so memory stays flat as files grow, with limits on rows,
columns and (for XLSX, a zip) the unpacked size, so a small hostile file cannot make a worker fill memory or run
for minutes.
"""
import codecs
import csv
import datetime as dt
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
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
XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError)


class BinarySource(Protocol):
    """A seekable binary file: an open file, io.BytesIO, a Django File."""

    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...


@dataclass
class Table:
    """A header and data rows; numbers[i] is rows[i]'s line number in the file (header = 1).

    errors holds row problems found while reading (ragged rows); the parser reports them with its own.
    """

    header: list[str]
    rows: list[list[str]]
    numbers: list[int]
    errors: list[RowError] = field(default_factory=list)


@dataclass
class TableStream:
    """A header and the data rows as they are read: `(line number, fields)` pairs, and a RowError in place of
    each row that cannot be split (ragged). `position()` says how far reading has got, 0 to 1 of the file."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]] | RowError]
    position: Callable[[], float]


def read_table(data: bytes, filename: str, *, max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS,
               max_columns: int = DEFAULT_MAX_COLUMNS,
               max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES) -> Table:
    """Read a whole CSV or XLSX file held in memory into a Table (small files, notebooks, tests).

    The same checks and limits as :func:`table_open`, which imports use to read a file as a stream.
    """
    with table_open(io.BytesIO(data), filename, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns,
                    max_uncompressed_bytes=max_uncompressed_bytes) as stream:
        table = Table(header=stream.header, rows=[], numbers=[])
        for item in stream.rows:
            if isinstance(item, RowError):
                table.errors.append(item)
            else:
                table.numbers.append(item[0])
                table.rows.append(item[1])
    return table


@contextmanager
def table_open(source: BinarySource, filename: str, *, max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS,
               max_columns: int = DEFAULT_MAX_COLUMNS,
               max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES) -> Iterator[TableStream]:
    """Open a CSV (UTF-8, UTF-8 with BOM or Windows-1252) or an XLSX file as a stream of rows.

    `source` is a seekable binary file, read a chunk at a time: memory does not grow with the file. max_rows
    counts data rows (the header is row 1); a file going past row max_rows + 1, or with a cell beyond column
    max_columns, or an XLSX whose parts unpack to more than max_uncompressed_bytes, is refused (ImportFileError,
    raised here or while the rows are read). Ragged rows come as RowErrors, at most MAX_ROW_ERRORS of them.
    """
    name = filename.lower()
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    if size == 0:
        raise ImportFileError([RowError("the file is empty (0 bytes)")])
    if size > max_bytes:
        raise ImportFileError(
            [RowError(f"file too large: {size / 1e6:.1f} MB, the limit is {max_bytes / 1e6:.1f} MB")]
        )

    def position() -> float:
        return min(source.tell() / size, 1.0)

    if name.endswith(XLSX_EXTENSIONS):
        if source.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise ImportFileError([RowError("not an XLSX file: the content is not an Excel workbook")])
        with _xlsx_opened(source, max_columns=max_columns, max_uncompressed_bytes=max_uncompressed_bytes,
                          filename=filename) as records:
            yield _stream(records, position, max_rows=max_rows, max_columns=max_columns, pad_short=True)
        return
    if not name.endswith(CSV_EXTENSIONS):
        raise ImportFileError([RowError(f"not a CSV or XLSX file: {filename!r}; upload .csv or .xlsx")])
    head = source.read(65536)
    if head.startswith(ZIP_MAGIC) or b"\x00" in head:
        raise ImportFileError([RowError("not a CSV file: the content is binary; upload .csv or .xlsx")])
    text = io.TextIOWrapper(source, encoding=_encoding(source), newline="")  # type: ignore[arg-type,type-var]
    try:
        # csv.Sniffer misreads long free text; the header line tells the delimiter reliably
        # (Excel in many European locales writes ";").
        header_line = text.readline()
        text.seek(0)
        delimiter = max([",", ";", "\t"], key=header_line.count) if header_line.count(",") == 0 else ","
        yield _stream(_csv_records(text, delimiter), position, max_rows=max_rows, max_columns=max_columns)
    finally:
        text.detach()  # the caller's file stays open: it is theirs to close


def _encoding(source: BinarySource) -> str:
    # UTF-8 first (with or without BOM); Excel on Windows writes Windows-1252. Checked over the whole file a
    # chunk at a time before any row is read, so a stray byte near the end cannot change the reading midway.
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        source.seek(0)
        try:
            while chunk := source.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        source.seek(0)
        return encoding
    raise ImportFileError(
        [RowError("unreadable encoding: the file is neither UTF-8 nor Windows-1252; save it as CSV UTF-8")]
    )


def _csv_records(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from enumerate(csv.reader(text, delimiter=delimiter, strict=True), start=1)
    except csv.Error as exc:
        raise ImportFileError([RowError(f"not a readable CSV file: {exc}")]) from exc


def source_names_hide(text: str, source: object, filename: str) -> str:
    """`text` (a library's error) with the stored file's names put back to the name it was uploaded as:
    openpyxl says "could not read worksheets from imports/2026/12/b_x7Yz.xlsx", which is the server's, not the
    user's (the upload's place on disk, or in the media store)."""
    names: set[str] = set()
    # A FieldFile's `file` would open the stored file when it is not open yet: read it only from an open one.
    inner = source.__dict__.get("_file") if hasattr(source, "__dict__") else None
    for holder in (source, inner, getattr(inner, "file", None)):
        name = getattr(holder, "name", None)
        if isinstance(name, str) and name:
            names.update({name, os.path.abspath(name), os.path.basename(name)})
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, filename)
    return text


@contextmanager
def _xlsx_opened(source: BinarySource, *, max_columns: int, max_uncompressed_bytes: int,
                 filename: str = "the file") -> Iterator[Iterator[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        # The central directory states each part's unpacked size; zipfile never inflates a part past
        # it, so checking the sum first bounds everything parsed below (a zip bomb is refused unread).
        source.seek(0)
        with zipfile.ZipFile(source) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_uncompressed_bytes:
            raise ImportFileError([RowError(
                f"XLSX file too large when unpacked: {unpacked / 1e6:,.1f} MB of content, the limit is "
                f"{max_uncompressed_bytes / 1e6:,.1f} MB; split the file or save it as CSV")])
        source.seek(0)
        # read_only: the sheet is parsed as it is iterated, never held whole.
        workbook = load_workbook(source, read_only=True, data_only=True)  # type: ignore[arg-type]
    except XLSX_ERRORS as exc:
        reason = source_names_hide(str(exc), source, filename)
        raise ImportFileError([RowError(f"not a readable XLSX file: {reason}")]) from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError([RowError("not a readable XLSX file: the workbook has no sheet")])
        sheet = workbook.worksheets[0]
        # The sheet's declared size (e.g. A1:XFD1048576) is not trusted: without it, missing rows come as
        # empty tuples and each row only as wide as its last stored cell.
        sheet.reset_dimensions()  # type: ignore[union-attr]
        yield _xlsx_guarded(_xlsx_records(sheet.iter_rows(values_only=True), max_columns), source, filename)
    finally:
        workbook.close()


def _xlsx_guarded(records: Iterator[tuple[int, list[str]]], source: object,
                  filename: str) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from records
    except XLSX_ERRORS as exc:
        reason = source_names_hide(str(exc), source, filename)
        raise ImportFileError([RowError(f"not a readable XLSX file: {reason}")]) from exc


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
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")  # "2021-09-30 12:30:00": read as a date column, as in a CSV
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _stream(records: Iterable[tuple[int, list[str]]], position: Callable[[], float], *, max_rows: int,
            max_columns: int, pad_short: bool = False) -> TableStream:
    """Read up to the header (blank lines are skipped) and hand over the rest as a stream of data rows."""
    records = iter(records)
    for number, record in records:
        _limits_check(number, record, max_rows=max_rows, max_columns=max_columns)
        if any(c.strip() for c in record):
            header = [h.strip() for h in record]
            return TableStream(header, _data_rows(records, header, max_rows=max_rows, max_columns=max_columns,
                                                  pad_short=pad_short), position)
    raise ImportFileError([RowError("the file has no header and no rows")])


def _limits_check(number: int, record: list[str], *, max_rows: int, max_columns: int) -> None:
    if number > max_rows + 1:
        raise ImportFileError([RowError(
            f"too many rows: the file goes on past row {max_rows + 1:,}; the limit is {max_rows:,} data rows",
            number)])
    if len(record) > max_columns:
        raise ImportFileError(
            [RowError(f"too many columns: {len(record):,} fields, the limit is {max_columns:,}", number)]
        )


def _data_rows(records: Iterator[tuple[int, list[str]]], header: list[str], *, max_rows: int, max_columns: int,
               pad_short: bool) -> Iterator[tuple[int, list[str]] | RowError]:
    """The data rows after the header, one at a time; blank lines are skipped (row numbers stay right).

    pad_short: a row shorter than the header is padded with empty fields (spreadsheet rows end at their
    last filled cell) instead of being a ragged row (a CSV line with fields missing).
    """
    ragged = 0
    for number, record in records:
        _limits_check(number, record, max_rows=max_rows, max_columns=max_columns)
        if not any(c.strip() for c in record):
            continue
        if pad_short and len(record) < len(header):
            record = record + [""] * (len(header) - len(record))
        if len(record) > len(header) and not any(c.strip() for c in record[len(header):]):
            record = record[: len(header)]  # trailing empty fields (a spreadsheet's trailing commas)
        if len(record) != len(header):
            ragged += 1
            if ragged <= MAX_ROW_ERRORS:
                yield RowError(f"ragged row: {len(record)} fields where the header has {len(header)}", number)
            continue
        yield number, [str(c) for c in record]
