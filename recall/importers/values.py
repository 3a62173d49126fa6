"""Parsing single cells: dates in every style the exports use, NHS numbers, needs, months.

Each parser raises ValueError with a message for staff; the caller adds file/line/column.
Results are cached because an events file repeats the same dates, codes and NHS numbers.
"""

from __future__ import annotations

import datetime as dt
import re

from recall.domain.nhs import InvalidNhsNumber, normalise_nhs_number

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}

DATE_HINT = "use 2026-11-27, 27/11/2026, 20261127 or 27-Nov-2026"
_TIME_TAIL = re.compile(r"^(\S+)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_WORDY = re.compile(r"^(\d{1,2})[- ]([A-Za-z]{3,9})[- ](\d{4})$")
_CACHE_LIMIT = 200_000


def parse_date(text: str) -> dt.date:
    """The one date parser: ISO, UK day/month/year, yyyymmdd or 27-Nov-2026 (a time is ignored).

    ValueError says what is wrong in plain words; two-digit years are refused.
    """
    s = text.strip()
    m = _TIME_TAIL.match(s)
    if m:
        s = m.group(1)
    try:
        if len(s) == 10 and s[4] == "-" and s[7] == "-":
            return dt.date.fromisoformat(s)
        if "/" in s or "." in s:
            parts = s.split("/") if "/" in s else s.split(".")
            if len(parts) == 3 and all(p.isdigit() for p in parts):
                day, month, year = (int(p) for p in parts)
                if len(parts[2]) != 4:
                    raise ValueError("is not a date: write the year with four digits")
                return dt.date(year, month, day)
        elif len(s) == 8 and s.isdigit():
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
        else:
            w = _WORDY.match(s)
            if w and w.group(2).lower() in MONTHS:
                return dt.date(int(w.group(3)), MONTHS[w.group(2).lower()], int(w.group(1)))
    except ValueError as exc:
        if str(exc).startswith("is not"):
            raise
        raise ValueError("is not a real date (day/month/year order is expected)") from None
    raise ValueError(f"is not a date ({DATE_HINT})")


class CellParser:
    """Cached parsers for the cells that repeat across rows.

    `valid_dates` and `valid_nhs` hold only values that passed, keyed by the raw cell, so a
    hot loop can use them directly; failures are parsed again (rare: they end the import).
    """

    def __init__(self) -> None:
        self.valid_dates: dict[str, dt.date] = {}
        self.valid_nhs: dict[str, str] = {}

    def date(self, text: str) -> dt.date:
        hit = self.valid_dates.get(text)
        if hit is not None:
            return hit
        hit = parse_date(text)
        if len(self.valid_dates) < _CACHE_LIMIT:
            self.valid_dates[text] = hit
        return hit

    def nhs_number(self, text: str) -> str:
        hit = self.valid_nhs.get(text)
        if hit is not None:
            return hit
        try:
            hit = normalise_nhs_number(text)
        except InvalidNhsNumber as exc:
            if re.fullmatch(r"\s*\d(\.\d+)?[eE]\+?\d+\s*", text):
                raise ValueError(
                    "was turned into a number by a spreadsheet (scientific notation): "
                    "export again without opening it in Excel"
                ) from None
            # worded by the domain ("an NHS number has 10 digits"); the UI's tests show it
            raise ValueError(str(exc)) from None
        if len(self.valid_nhs) < _CACHE_LIMIT:
            self.valid_nhs[text] = hit
        return hit


NEEDS = ("large_print", "easy_read", "braille", "no_sms", "no_letter")
INTERPRETER = "interpreter"


def parse_needs(text: str) -> str:
    """`;`-separated needs, normalised (`Large print` -> `large_print`); unknown ones refused."""
    out: list[str] = []
    for part in re.split(r"[;|]", text):
        item = part.strip()
        if not item:
            continue
        head, sep, tail = item.partition(":")
        key = re.sub(r"[\s\-]+", "_", head.strip().lower())
        if key == INTERPRETER:
            language = tail.strip()
            if not language:
                raise ValueError("interpreter needs a language, e.g. interpreter:Polish")
            value = f"{INTERPRETER}:{language}"
        elif key in NEEDS and not sep:
            value = key
        else:
            allowed = ", ".join([*NEEDS, "interpreter:<language>"])
            raise ValueError(f"is not a communication need (use {allowed}, separated by ;)")
        if value not in out:
            out.append(value)
    return ";".join(out)


def parse_recall_month(text: str) -> int:
    s = text.strip().lower()
    if s.isdigit() and 1 <= int(s) <= 12:
        return int(s)
    if s in MONTHS:
        return MONTHS[s]
    raise ValueError("is not a month (1-12)")


FORMULA_START = ("=", "+", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    """Cells a spreadsheet would run as a formula: kept as text, flagged as a warning."""
    return text.startswith(FORMULA_START) or (
        text.startswith("-") and len(text) > 1 and not text[1].isalpha()
    )
