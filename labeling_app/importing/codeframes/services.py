"""Reading a codeframe file (CSV or XLSX; ThemeLoop's own export or a hand-made one) into a project's theme set."""
from labeling_app.importing.errors import ImportFileError, RowError
from labeling_app.importing.parser import MAX_THEME_CHARS, cell_unneutralise
from labeling_app.importing.readers import read_table
from labeling_app.projects.models import Project
from labeling_app.themes.selectors import CODEFRAME_COLUMNS, CodeframeRow
from labeling_app.themes.services.codeframe import codeframe_apply

MAX_CODEFRAME_BYTES = 2 * 1024 * 1024
MAX_CODEFRAME_ROWS = 5000
YES = {"yes", "y", "true", "1", "x", "archived"}
NO = {"", "no", "n", "false", "0"}


def _number(text: str, column: str, row: int, errors: list[RowError]) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)  # a spreadsheet may hold 12 as 12.0
    except ValueError:
        value = -1.0
    if value < 1 or value != int(value):
        errors.append(RowError(f"{column} {text!r} is not a whole number from 1", row))
        return None
    return int(value)


def codeframe_parse(data: bytes, filename: str) -> list[CodeframeRow]:
    """The file's codes, checked as a whole: every problem is reported at once (ImportFileError)."""
    table = read_table(data, filename, max_bytes=MAX_CODEFRAME_BYTES, max_rows=MAX_CODEFRAME_ROWS)
    columns = {name.strip().lower(): i for i, name in enumerate(table.header)}
    if "name" not in columns:
        found = ", ".join(repr(h) for h in table.header) or "none"
        raise ImportFileError([RowError(f"a codeframe needs a name column (columns: {', '.join(CODEFRAME_COLUMNS)}; "
                                        f"found: {found})", 1)])
    errors = list(table.errors)
    rows: list[CodeframeRow] = []
    codes: dict[int, int] = {}
    names: dict[str, int] = {}
    keys: dict[str, int] = {}
    net_codes: dict[int, str] = {}

    def cell(raw: list[str], column: str) -> str:
        index = columns.get(column)
        return cell_unneutralise(raw[index]).strip() if index is not None and index < len(raw) else ""

    for number, raw in zip(table.numbers, table.rows, strict=True):
        name, net = " ".join(cell(raw, "name").split()), " ".join(cell(raw, "net").split())
        code = _number(cell(raw, "code"), "code", number, errors)
        net_code = _number(cell(raw, "net_code"), "net_code", number, errors)
        key, archived = cell(raw, "key").lower(), cell(raw, "archived").lower()
        if not name:
            errors.append(RowError("a code needs a name", number))
            continue
        if len(name) > MAX_THEME_CHARS or len(net) > MAX_THEME_CHARS:
            errors.append(RowError(f"a name or net of over {MAX_THEME_CHARS} characters", number))
        if archived not in YES | NO:
            errors.append(RowError(f"archived is {archived!r}: write yes or leave it blank", number))
        if key and (len(key) != 1 or not key.isascii() or not key.isalnum()):
            errors.append(RowError(f"key {key!r} is not one letter or digit", number))
        if code is not None and code in codes:
            errors.append(RowError(f"code {code} is on row {codes[code]} too", number))
        elif code is not None:
            codes[code] = number
        if name.casefold() in names:
            errors.append(RowError(f"name {name!r} is on row {names[name.casefold()]} too", number))
        else:
            names[name.casefold()] = number
        live = archived in NO
        if key and live and key in keys:
            errors.append(RowError(f"key {key!r} is on row {keys[key]} too (keys are unique among live codes)", number))
        elif key and live:
            keys[key] = number
        if net and net_code is not None and net_codes.setdefault(net_code, net).casefold() != net.casefold():
            errors.append(RowError(f"net_code {net_code} names two nets: {net_codes[net_code]!r} and {net!r}",
                                   number))
        rows.append(CodeframeRow(code=code, net_code=net_code, net=net, name=name, description=cell(raw, "description"),
                                 key=key, archived=archived in YES, replaced_by=cell(raw, "replaced_by")))
    if errors:
        raise ImportFileError(sorted(errors, key=lambda e: e.row or 0))
    if not rows:
        raise ImportFileError([RowError("the file has a header but no codes")])
    return rows


def codeframe_import(*, project: Project, data: bytes, filename: str) -> dict[str, int]:
    """Read a codeframe file and apply it to the project's theme set, whole or not at all."""
    return codeframe_apply(project=project, rows=codeframe_parse(data, filename))
