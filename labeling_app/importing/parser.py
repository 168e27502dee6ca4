"""Validate rows in ThemeLoop's long format as they are read (and, for a whole Table, group them by respondent)."""
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from labeling_app.importing.errors import ImportFileError, RowError
from labeling_app.importing.readers import Table

REQUIRED_COLUMNS = ("respondent_id", "response")
THEME_COLUMN = "theme"
# Optional: who coded the row. Each value becomes a coder of the project (for agreement), not a login.
CODER_COLUMN = "coder"
# Optional, ThemeLoop's own export writes it: what each row is (README, "Exports"). Without this column a file
# is read as it always was, and `theme_description` is metadata like any other column.
ROW_COLUMN = "themeloop_row"
SENTIMENT_COLUMN = "sentiment"  # a metadata column that is also the coders' sentiment of the rows it codes
NET_COLUMN = "net"  # optional: the net (codeframe group) each row's theme sits under (read only beside a theme column)
DESCRIPTION_COLUMN = "theme_description"  # a theme row's description (read only alongside ROW_COLUMN)
ROW_RESPONSE = "response"  # a respondent's row, as in any long file (also a blank cell)
ROW_NO_THEME = "coded_no_theme"  # a respondent coded with no theme (the theme cell stays blank)
ROW_THEME = "theme"  # a theme of the theme set: no respondent_id or response, the theme and its description
ROW_ARCHIVED_THEME = "archived_theme"  # the same, for an archived theme
ROW_KINDS = (ROW_RESPONSE, ROW_NO_THEME, ROW_THEME, ROW_ARCHIVED_THEME)
MAX_ERRORS = 50
# The database columns' limits (Response.respondent_id, Theme.name); services pass the models' own values.
MAX_RESPONDENT_ID_CHARS = 255
MAX_THEME_CHARS = 120
# Markup: anything a browser's tokenizer would open a tag, end tag, comment or declaration at, i.e. `<`
# followed by a letter, `/`, `!` or `?` (so `<img/src=x/onerror=…>` without spaces is caught too), and
# `javascript:` URLs. Plain angle brackets ("I <3 it", "a < b", "<= 5") are fine.
ACTIVE_MARKUP = re.compile(r"<[a-z/!?]|javascript\s*:", re.IGNORECASE)
# Undoes exactly what ThemeLoop's exporter adds (labeling_app.exporting.services): one apostrophe in front of
# apostrophes-then-a-formula-start (= + - @ tab CR). Any other leading apostrophe is the respondent's own.
NEUTRALISED = re.compile(r"^''*[=+\-@\t\r]")


@dataclass
class ParsedRespondent:
    respondent_id: str
    text: str
    metadata: dict[str, str]
    themes: list[str] = field(default_factory=list)
    row: int = 0
    # With a coder column: each coder's themes (a coder's row with no theme means "coded, no theme").
    coders: dict[str, list[str]] = field(default_factory=dict)
    # Coded: a theme, a coder's row, or a `coded_no_theme` row (then coded although `themes` is empty).
    coded: bool = False


@dataclass
class ParsedImport:
    """A valid file: respondents in file order, and theme names in order of first appearance."""

    respondents: list[ParsedRespondent]
    theme_names: list[str]
    # From theme rows: theme name -> (description, archived); themes only named by labels are not here.
    theme_details: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # From the net column: theme name -> the net it sits under.
    theme_nets: dict[str, str] = field(default_factory=dict)

    @property
    def label_count(self) -> int:
        return sum(sum(len(t) for t in r.coders.values()) if r.coders else len(r.themes) for r in self.respondents)

    @property
    def coder_names(self) -> list[str]:
        """The coders named in the file, in order of first appearance."""
        return list(dict.fromkeys(name for r in self.respondents for name in r.coders))


@dataclass(slots=True)
class LongRow:
    """One valid data row, as the parser hands it on.

    `respondent` numbers the file's respondents 0, 1, 2, … in the order of their first valid row; `metadata` is
    set on that row only (None on the respondent's later rows). `theme` and `coder` index the parser's
    `theme_names` and `coder_names`, -1 for none; a coder of -1 means the row codes nothing.
    """

    number: int
    respondent: int
    respondent_id: str
    text: str
    metadata: dict[str, str] | None
    theme: int
    coder: int


class LongFormatParser:
    """Validate long-format rows one at a time, as they are read, keeping only a little per respondent.

    Per respondent it keeps the id, a hash of the first text and that row's number (to report a respondent
    whose rows disagree, wherever they are in the file); rows are handed on as they pass. Problems collect in
    `errors` (the caller adds its own, e.g. clashes with the database, through :meth:`error`); reading stops
    after MAX_ERRORS of them.
    """

    def __init__(self, header: list[str], *, max_response_chars: int,
                 max_respondent_id_chars: int = MAX_RESPONDENT_ID_CHARS, max_theme_chars: int = MAX_THEME_CHARS):
        columns = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            found = ", ".join(repr(h) for h in header) or "none"
            raise ImportFileError(
                [RowError(f"missing column {', '.join(missing)} (columns found: {found})", 1)]
            )
        self._id_col, self._text_col = columns["respondent_id"], columns["response"]
        self._theme_col, self._coder_col = columns.get(THEME_COLUMN), columns.get(CODER_COLUMN)
        self._row_col = columns.get(ROW_COLUMN)
        self._description_col = columns.get(DESCRIPTION_COLUMN) if self._row_col is not None else None
        if self._row_col is not None and self._theme_col is None:
            raise ImportFileError([RowError(f"a file with a {ROW_COLUMN} column needs a {THEME_COLUMN} column", 1)])
        self._net_col = columns.get(NET_COLUMN) if self._theme_col is not None else None
        special = (self._id_col, self._text_col, self._theme_col, self._coder_col, self._row_col, self._description_col,
                   self._net_col)
        self._meta_cols = [(i, name) for i, name in enumerate(header) if i not in special]
        self._limits = (max_response_chars, max_respondent_id_chars, max_theme_chars)
        self.errors: list[RowError] = []
        self.theme_names: list[str] = []  # first spelling seen, in order of first appearance
        self._themes: dict[str, int] = {}  # case-folded -> index in theme_names
        self.coder_names: list[str] = []  # "" is the file's own coding (no coder named on the row)
        # From the file's theme rows: theme index -> (description, archived).
        self.theme_details: dict[int, tuple[str, bool]] = {}
        # From the net column: theme index -> (net name, the row that first named it).
        self.theme_nets: dict[int, tuple[str, int]] = {}
        self._coders: dict[str, int] = {}
        # The one thing kept per respondent: respondent_id -> a slot in three arrays, holding a hash of its
        # first text (not the text: texts are most of a file), that row, and its respondent number (-1 until
        # a valid row). Plain arrays take 24 bytes a respondent where a tuple of ints takes over 150.
        self._seen: dict[str, int] = {}
        self._text_hash, self._first_row, self._number = array("q"), array("q"), array("q")
        self.respondents = 0
        self.data_rows = 0

    def release(self) -> None:
        """Forget the respondents once every row is read (their labels are written next)."""
        self._seen = {}
        self._text_hash, self._first_row, self._number = array("q"), array("q"), array("q")

    @property
    def meta_columns(self) -> list[tuple[int, str]]:
        """The file's metadata columns: (position, header name)."""
        return list(self._meta_cols)

    @property
    def has_coder_column(self) -> bool:
        """Whether the file says who coded each row (then each coder's labels are kept apart)."""
        return self._coder_col is not None

    @property
    def full(self) -> bool:
        """As many problems as are worth reporting were found: reading can stop."""
        return len(self.errors) >= MAX_ERRORS

    def error(self, error: RowError) -> None:
        """Record a problem found outside the parser (a reader's ragged row, a clash with stored data)."""
        self.errors.append(error)

    def sorted_errors(self) -> list[RowError]:
        """The problems in row order, at most MAX_ERRORS."""
        return sorted(self.errors, key=lambda e: e.row or 0)[:MAX_ERRORS]

    def rows(self, items: Iterable[tuple[int, list[str]] | RowError]) -> Iterator[LongRow]:
        """The valid rows among `items` (a reader's rows and RowErrors); the others become `errors`."""
        for item in items:
            if self.full:
                break
            if isinstance(item, RowError):
                self.error(item)
                continue
            self.data_rows += 1
            row = self._row(*item)
            if row is not None:
                yield row
        if not self.data_rows and not self.errors:
            raise ImportFileError([RowError("the file has a header but no data rows")])

    def _row(self, number: int, raw: list[str]) -> LongRow | None:
        max_response_chars, max_id_chars, max_theme_chars = self._limits
        row = [cell_unneutralise(cell) for cell in raw]
        respondent_id = row[self._id_col].strip()
        text = row[self._text_col].strip()
        theme = " ".join(row[self._theme_col].split()) if self._theme_col is not None else ""
        kind = (row[self._row_col].strip().lower() or ROW_RESPONSE) if self._row_col is not None else ROW_RESPONSE
        if kind in (ROW_THEME, ROW_ARCHIVED_THEME):
            self._theme_row(number, row, respondent_id, text, theme, archived=kind == ROW_ARCHIVED_THEME)
            return None
        problem = _kind_problem(kind, theme, row[self._description_col] if self._description_col is not None else "")
        problem = problem or _row_problem(respondent_id, text, max_response_chars) or _length_problem(
            respondent_id, theme, max_id_chars, max_theme_chars)
        # Each respondent's first text and its row, rows with other problems included, so that every
        # repeated respondent is reported with the file's other errors, not after they are fixed.
        slot = self._seen.get(respondent_id)
        if slot is None and respondent_id and text:
            slot = self._seen[respondent_id] = len(self._number)
            self._text_hash.append(hash(text))
            self._first_row.append(number)
            self._number.append(-1)
        if problem is None and slot is not None and self._text_hash[slot] != hash(text):
            problem = (f"respondent {respondent_id!r} appears with two different responses "
                       f"(first on row {self._first_row[slot]})")
        if problem:
            self.error(RowError(problem, number))
            return None
        assert slot is not None  # a row without problems has an id and a text
        respondent, metadata = self._number[slot], None
        if respondent < 0:
            respondent = self._number[slot] = self.respondents
            self.respondents += 1
            metadata = {name: row[i].strip() for i, name in self._meta_cols}
        coder = " ".join(row[self._coder_col].split())[:150] if self._coder_col is not None else ""
        # In a file with a coder column, a row with no coder is the file's own (the `imported` coder), and a
        # coder's row with no theme means "coded, no theme". Without one, only a theme codes, or a row marked
        # `coded_no_theme` (the file's own coding: coded, and no theme applies).
        codes = bool(coder or theme) if self._coder_col is not None else bool(theme)
        codes = codes or kind == ROW_NO_THEME
        theme_index = self._index(self._themes, self.theme_names, theme) if theme else -1
        if theme_index >= 0 and not self._net_check(number, row, theme, theme_index):
            return None
        coder_index = self._index(self._coders, self.coder_names, coder, fold=False) if codes else -1
        return LongRow(number, respondent, respondent_id, text, metadata, theme_index, coder_index)

    def _theme_row(self, number: int, row: list[str], respondent_id: str, text: str, theme: str, *,
                   archived: bool) -> None:
        """A row of the theme set: the theme joins theme_names (in the file's order) with its description."""
        max_theme_chars = self._limits[2]
        description = row[self._description_col] if self._description_col is not None else ""
        problem = None
        if respondent_id or text:
            problem = "a theme row leaves respondent_id and response blank (it describes a theme, not an answer)"
        elif not theme:
            problem = "a theme row needs the theme's name in the theme column"
        elif len(theme) > max_theme_chars:
            problem = f"theme name of {len(theme):,} characters; the limit is {max_theme_chars:,}"
        elif self._themes.get(theme.casefold()) in self.theme_details:
            problem = f"theme {theme!r} has two theme rows"
        if problem:
            self.error(RowError(problem, number))
            return
        index = self._index(self._themes, self.theme_names, theme)
        if self._net_check(number, row, theme, index):
            self.theme_details[index] = (description, archived)

    def _net_check(self, number: int, row: list[str], theme: str, index: int) -> bool:
        """Keep the net the row puts its theme under; a theme under two nets is the row's error."""
        if self._net_col is None:
            return True
        net = " ".join(row[self._net_col].split())
        if not net:
            return True
        if len(net) > self._limits[2]:
            self.error(RowError(f"net name of {len(net):,} characters; the limit is {self._limits[2]:,}", number))
            return False
        seen = self.theme_nets.get(index)
        if seen is None:
            self.theme_nets[index] = (net, number)
        elif seen[0].casefold() != net.casefold():
            self.error(RowError(f"theme {theme!r} is under net {net!r} here but under {seen[0]!r} on row {seen[1]} "
                                "(a theme sits under one net)", number))
            return False
        return True

    @staticmethod
    def _index(indexes: dict[str, int], names: list[str], name: str, *, fold: bool = True) -> int:
        key = name.casefold() if fold else name
        index = indexes.get(key)
        if index is None:
            index = indexes[key] = len(names)
            names.append(name)
        return index


def parse_long_format(table: Table, *, max_response_chars: int, max_respondent_id_chars: int = MAX_RESPONDENT_ID_CHARS,
                      max_theme_chars: int = MAX_THEME_CHARS) -> ParsedImport:
    """Check every row of a whole Table and group it by respondent; raise ImportFileError listing each problem.

    Imports stream a file through :class:`LongFormatParser` instead; this gathers its rows for small files
    and notebooks. Respondent ids and theme names longer than their database columns are row errors: stored,
    they would be cut (PostgreSQL refuses them) or left past a limit that every later edit of the theme checks.
    """
    parser = LongFormatParser(table.header, max_response_chars=max_response_chars,
                              max_respondent_id_chars=max_respondent_id_chars, max_theme_chars=max_theme_chars)
    items: list[tuple[int, list[str]] | RowError] = [*zip(table.numbers, table.rows, strict=True), *table.errors]
    items.sort(key=lambda item: (item.row or 0) if isinstance(item, RowError) else item[0])
    respondents: list[ParsedRespondent] = []
    for row in parser.rows(items):
        if row.metadata is not None:
            respondents.append(ParsedRespondent(row.respondent_id, row.text, row.metadata, row=row.number))
        respondent = respondents[row.respondent]
        respondent.coded = respondent.coded or row.coder >= 0
        theme = parser.theme_names[row.theme] if row.theme >= 0 else None
        if theme is not None and theme not in respondent.themes:
            respondent.themes.append(theme)
        if row.coder >= 0 and parser.has_coder_column:
            coded = respondent.coders.setdefault(parser.coder_names[row.coder], [])
            if theme is not None and theme not in coded:
                coded.append(theme)
    if parser.errors:
        raise ImportFileError(parser.sorted_errors())
    return ParsedImport(respondents=respondents, theme_names=parser.theme_names,
                        theme_details={parser.theme_names[i]: d for i, d in parser.theme_details.items()},
                        theme_nets={parser.theme_names[i]: n for i, (n, _) in parser.theme_nets.items()})


def cell_unneutralise(cell: str) -> str:
    """Strip the apostrophe a ThemeLoop export put before a formula-like cell ("'=x" -> "=x", "'abc" kept)."""
    return cell[1:] if NEUTRALISED.match(cell) else cell


def _kind_problem(kind: str, theme: str, description: str) -> str | None:
    if kind not in ROW_KINDS:
        return f"{ROW_COLUMN} {kind!r} is not one of {', '.join(ROW_KINDS)}"
    if kind == ROW_NO_THEME and theme:
        return f"a {ROW_NO_THEME} row leaves the theme blank (it names {theme!r})"
    if description.strip():
        return f"{DESCRIPTION_COLUMN} is for theme rows only; leave it blank on a respondent's row"
    return None


def _length_problem(respondent_id: str, theme: str, max_id_chars: int, max_theme_chars: int) -> str | None:
    if len(respondent_id) > max_id_chars:
        return f"respondent_id of {len(respondent_id):,} characters; the limit is {max_id_chars:,}"
    if len(theme) > max_theme_chars:
        return f"theme name of {len(theme):,} characters; the limit is {max_theme_chars:,}"
    return None


def _row_problem(respondent_id: str, text: str, max_chars: int) -> str | None:
    if not respondent_id:
        return "empty respondent_id"
    if not text:
        return f"empty response for respondent {respondent_id!r}"
    if len(text) > max_chars:
        return f"response of {len(text):,} characters; the limit is {max_chars:,}"
    if match := ACTIVE_MARKUP.search(text):
        return (
            f"response contains HTML/script markup ({match.group(0)[:20]!r}); "
            "ThemeLoop imports plain text only, remove the markup"
        )
    return None
