"""Plain words for reception staff: no "stage 1 batch", say "1st invitation letters"."""

from __future__ import annotations

import datetime as dt

from recall.domain.invitations import ORDINAL


def stage_words(stage: int) -> str:
    """`1` -> "1st invitation letters"."""
    return f"{ORDINAL.get(stage, f'{stage}th')} invitation letters"


def month_name(month: str) -> str:
    """`2026-11` -> "November 2026"."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        return dt.date(year, mon, 1).strftime("%B %Y")
    except ValueError:
        return month


def run_title(stage: int, month: str) -> str:
    """`1, 2026-11` -> "1st invitation letters for November 2026" (that recall month);
    `2, 2026-11` -> "2nd invitation letters, November 2026" (every recall month)."""
    if stage == 1:
        return f"{stage_words(stage)} for {month_name(month)}"
    return f"{stage_words(stage)}, {month_name(month)}"


def long_date(day: dt.date) -> str:
    """`2026-11-27` -> "Friday 27 November 2026"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: dt.date | None) -> str:
    """`2026-11-27` -> "27 Nov 2026"."""
    return "" if day is None else f"{day.day} {day:%b %Y}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """`plural(1, "patient")` -> "1 patient"; `plural(3, "patient")` -> "3 patients"."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


NEEDS_WORDS = {
    "large_print": "large print",
    "easy_read": "easy read",
    "braille": "braille",
    "no_sms": "no texts",
    "no_letter": "no letters",
}


def needs_words(needs: str | list[str] | tuple[str, ...]) -> str:
    """`large_print;interpreter:Polish` -> "large print, Polish interpreter"."""
    items = needs.split(";") if isinstance(needs, str) else list(needs)
    out = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        if item.startswith("interpreter:"):
            out.append(f"{item.split(':', 1)[1].strip().title()} interpreter")
        else:
            out.append(NEEDS_WORDS.get(item, item.replace("_", " ")))
    return ", ".join(out)
