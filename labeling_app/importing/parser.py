"""Validate a Table in ThemeLoop's long format and group it by respondent."""
import re
from dataclasses import dataclass, field

from labeling_app.importing.errors import ImportFileError, RowError
from labeling_app.importing.readers import Table

REQUIRED_COLUMNS = ("respondent_id", "response")
THEME_COLUMN = "theme"
# Optional: who coded the row. Each value becomes a coder of the project (for agreement), not a login.
CODER_COLUMN = "coder"
MAX_ERRORS = 50
# The database columns' limits (Response.respondent_id, Theme.name); services pass the models' own values.
MAX_RESPONDENT_ID_CHARS = 255
MAX_THEME_CHARS = 120
# Markup: anything a browser's tokenizer would open a tag, end tag, comment or declaration at, i.e. `<`
# followed by a letter, `/`, `!` or `?` (so `<img/src=x/onerror=…>` without spaces is caught too), and
# `javascript:` URLs. Plain angle brackets ("I <3 it", "a < b", "<= 5") are fine.
ACTIVE_MARKUP = re.compile(r"<[a-z/!?]|javascript\s*:", re.IGNORECASE)
# Undoes exactly what ThemeLoop's exporter adds (labeling_app.services.exports): one apostrophe in front of
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


@dataclass
class ParsedImport:
    """A valid file: respondents in file order, and theme names in order of first appearance."""

    respondents: list[ParsedRespondent]
    theme_names: list[str]

    @property
    def label_count(self) -> int:
        return sum(sum(len(t) for t in r.coders.values()) if r.coders else len(r.themes) for r in self.respondents)

    @property
    def coder_names(self) -> list[str]:
        """The coders named in the file, in order of first appearance."""
        return list(dict.fromkeys(name for r in self.respondents for name in r.coders))


def parse_long_format(table: Table, *, max_response_chars: int, max_respondent_id_chars: int = MAX_RESPONDENT_ID_CHARS,
                      max_theme_chars: int = MAX_THEME_CHARS) -> ParsedImport:
    """Check every row and group rows by respondent; raise ImportFileError listing each problem.

    Respondent ids and theme names longer than their database columns are row errors: stored, they would
    be cut (PostgreSQL refuses them) or left past a limit that every later edit of the theme checks."""
    columns = {name.strip().lower(): i for i, name in enumerate(table.header)}
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(repr(h) for h in table.header) or "none"
        raise ImportFileError(
            [RowError(f"missing column {', '.join(missing)} (columns found: {found})", 1)]
        )
    if not table.rows and not table.errors:
        raise ImportFileError([RowError("the file has a header but no data rows")])
    id_col, text_col = columns["respondent_id"], columns["response"]
    theme_col, coder_col = columns.get(THEME_COLUMN), columns.get(CODER_COLUMN)
    meta_cols = [(i, name) for i, name in enumerate(table.header)
                 if i not in (id_col, text_col, theme_col, coder_col)]

    errors: list[RowError] = []
    by_id: dict[str, ParsedRespondent] = {}
    # Each respondent's first text and its row, rows with other problems included, so that every
    # repeated respondent is reported with the file's other errors, not after they are fixed.
    first_text: dict[str, tuple[str, int]] = {}
    theme_names: dict[str, str] = {}  # case-folded -> first spelling seen
    for number, raw in zip(table.numbers, table.rows, strict=True):
        row = [cell_unneutralise(cell) for cell in raw]
        respondent_id = row[id_col].strip()
        text = row[text_col].strip()
        theme = " ".join(row[theme_col].split()) if theme_col is not None else ""
        problem = _row_problem(respondent_id, text, max_response_chars) or _length_problem(
            respondent_id, theme, max_respondent_id_chars, max_theme_chars)
        first = first_text.setdefault(respondent_id, (text, number)) if respondent_id and text else None
        if problem is None and first is not None and first[0] != text:
            problem = f"respondent {respondent_id!r} appears with two different responses (first on row {first[1]})"
        if problem:
            errors.append(RowError(problem, number))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        respondent = by_id.get(respondent_id) or by_id.setdefault(
            respondent_id,
            ParsedRespondent(
                respondent_id, text, {name: row[i].strip() for i, name in meta_cols}, row=number
            ),
        )
        coder = " ".join(row[coder_col].split())[:150] if coder_col is not None else ""
        # In a file with a coder column, a row with no coder is the file's own (the `imported` coder).
        coded = respondent.coders.setdefault(coder, []) if coder_col is not None and (coder or theme) else None
        if theme:
            canonical = theme_names.setdefault(theme.casefold(), theme)
            if canonical not in respondent.themes:
                respondent.themes.append(canonical)
            if coded is not None and canonical not in coded:
                coded.append(canonical)
    # Rows the reader could not split (ragged) are reported in row order with the others.
    errors = sorted([*table.errors, *errors], key=lambda e: e.row or 0)[:MAX_ERRORS]
    if errors:
        raise ImportFileError(errors)
    return ParsedImport(respondents=list(by_id.values()), theme_names=list(theme_names.values()))


def cell_unneutralise(cell: str) -> str:
    """Strip the apostrophe a ThemeLoop export put before a formula-like cell ("'=x" -> "=x", "'abc" kept)."""
    return cell[1:] if NEUTRALISED.match(cell) else cell


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
