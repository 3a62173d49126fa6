"""Problems found in an import file: where (file, physical line, column), what value, and why.

Only the first few are kept in full (a broken file can have a million bad rows); the rest are
counted, so the message can say "and N more".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MAX_KEPT = 50
VALUE_SHOWN = 40


def show_value(value: str) -> str:
    """The value as staff should see it in a message: quoted, shortened, control chars shown."""
    text = value if len(value) <= VALUE_SHOWN else value[: VALUE_SHOWN - 1] + "…"
    return repr(text)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV, not UTF-8, no header, missing columns)."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        where = f"{file} line {line}" if line else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.reason = message


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        if self.column:
            where += f", column {self.column}"
        shown = f" {show_value(self.value)}" if self.value else ""
        return f"{where}:{shown} {self.message}".replace(":  ", ": ")


class ProblemLog:
    """Keeps the first MAX_KEPT problems and counts all of them."""

    def __init__(self, limit: int = MAX_KEPT) -> None:
        self.limit = limit
        self.kept: list[Problem] = []
        self.count = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(problem)

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.kept)

    @property
    def more(self) -> int:
        """How many were counted but not kept."""
        return self.count - len(self.kept)

    def lines(self) -> list[str]:
        out = [str(p) for p in self.kept]
        if self.more:
            out.append(f"and {self.more} more")
        return out
