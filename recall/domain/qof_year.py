"""The QOF service year: 1 April to 31 March."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, order=True)
class QofYear:
    """A QOF service year, named by the calendar year it starts in (2026 = 2026/27)."""

    start_year: int

    @property
    def start(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.start_year + 1, 3, 31)

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def days_left(self, today: date) -> int:
        """Days from `today` to 31 March inclusive of neither end (0 on 31 March)."""
        return max((self.end - today).days, 0)

    def next(self) -> QofYear:
        return QofYear(self.start_year + 1)

    def previous(self) -> QofYear:
        return QofYear(self.start_year - 1)

    def __str__(self) -> str:
        return self.label


def qof_year_of(day: date) -> QofYear:
    """The QOF year that contains `day` (1 April belongs to the new year)."""
    return QofYear(day.year if day.month >= 4 else day.year - 1)


def parse_month(text: str) -> tuple[int, int]:
    """Parse `YYYY-MM` into (year, month); raise ValueError with a plain message."""
    try:
        year_s, month_s = text.strip().split("-")
        year, month = int(year_s), int(month_s)
    except ValueError:
        raise ValueError(f"month must look like 2026-11, got {text!r}") from None
    if not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise ValueError(f"month must look like 2026-11, got {text!r}")
    return year, month
