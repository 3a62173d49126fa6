"""Stored text on screen: inert whatever it holds.

Names, addresses, reasons and terms come from imported files and may hold terminal escape
sequences (older databases kept them) or look like Textual markup (`[bold red]x`). Textual
reads a plain `str` given to a Static, a Label or a DataTable cell as markup, so stored text
is passed as Content/Text (taken literally) after `printable` has dropped control sequences.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from recall.domain.text import printable


def plain(value: object) -> Content:
    """For Static/Label.update: shown exactly as stored, line breaks kept."""
    return Content(printable(value, keep_newlines=True))


def cells(*values: object) -> list[Text]:
    """For DataTable.add_row: each cell shown exactly as stored, on one line."""
    return [Text(printable(v)) for v in values]


def line(value: object) -> str:
    """For titles, notifications and fixed-width table cells (taken literally already)."""
    return printable(value)
