from dataclasses import dataclass, field


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
class ImportFileError(Exception):
    """The file cannot be imported; nothing was written. Carries every error found."""

    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = len(self.errors) - 5
        return shown + (f"; and {more} more" if more > 0 else "")
