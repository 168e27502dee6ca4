from dataclasses import dataclass, field

from labeling_app.core.http.errors import DetailedInputError


@dataclass(frozen=True)
class RowError:
    """One problem in the file; row is the 1-based line as a spreadsheet shows it (header = 1)."""

    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "message": self.message}

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message


@dataclass
class ImportFileError(DetailedInputError):
    """The file cannot be imported; nothing was written. Carries every error found."""

    errors: list[RowError] = field(default_factory=list)

    def details(self) -> list[dict[str, object]]:
        return [e.as_dict() for e in self.errors]

    def __str__(self) -> str:
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = len(self.errors) - 5
        return shown + (f"; and {more} more" if more > 0 else "")
