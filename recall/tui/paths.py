"""Text holding file paths that wraps after a "/" instead of in the middle of a name.

The terminal wraps only at spaces, so a long path such as ".../letters/batch-12/batch-12-print.docx"
was cut wherever the line ran out ("letters/batch-" then "12"). Staff copy these paths into a
file manager, so each line break falls after a folder name instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from recall.domain.text import printable

_PATH = re.compile(r"^(?:~|[A-Za-z]:)?[/\\]")  # a word that starts a path: /…, ~/…, C:\…


def _pieces(word: str) -> list[str]:
    """A path split after each separator; any other word whole."""
    if not _PATH.match(word):
        return [word]
    pieces = [p for p in re.split(r"(?<=[/\\])", word) if p]
    if len(pieces) > 1 and _PATH.fullmatch(pieces[0]):  # "/" or "~/" stays with its folder
        pieces[:2] = [pieces[0] + pieces[1]]
    return pieces


def _fold(piece: str, width: int) -> list[str]:
    """A piece wider than the line, cut into line-wide parts (the only mid-name cut left)."""
    parts, part = [], ""
    for char in piece:
        if part and cell_len(part + char) > width:
            parts.append(part)
            part = ""
        part += char
    return [*parts, part] if part else parts


def wrap_line(line: str, width: int) -> list[str]:
    """One line of text as lines of at most `width` cells, broken at spaces; a path too long
    for a line of its own is broken after a "/" (a folder name, then the rest)."""
    if width <= 0 or cell_len(line) <= width:
        return [line]
    out: list[str] = []
    current = line[: len(line) - len(line.lstrip(" "))]  # an indent stays on the first line
    for word in line.split():
        joined = f"{current} {word}" if current.strip() else current + word
        if cell_len(joined) <= width:
            current = joined
            continue
        if current.strip() and cell_len(word) <= width:  # the whole word fits on the next line
            out.append(current)
            current = word
            continue
        for index, piece in enumerate(_pieces(word)):
            spaced = current.strip() and not index
            joined = f"{current} {piece}" if spaced else current + piece
            if cell_len(joined) <= width:
                current = joined
                continue
            if current.strip():
                out.append(current)
            *full, current = _fold(piece, width) or [""]
            out.extend(full)
    out.append(current)
    return out


def wrap_text(text: str, width: int) -> list[str]:
    """Every line of `text` wrapped by `wrap_line`."""
    return [part for line in text.split("\n") for part in wrap_line(line, width)]


@dataclass(frozen=True)
class PathText:
    """A renderable for a Static: plain text whose paths break only after a "/"."""

    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", printable(self.text, keep_newlines=True))

    def __str__(self) -> str:
        return self.text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text("\n".join(wrap_text(self.text, options.max_width)), no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(line) for line in self.text.split("\n")), default=0)
        return Measurement(1, min(widest, options.max_width))
