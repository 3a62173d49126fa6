"""Characters that must never reach a terminal, a letter or the database from outside.

Imported text can carry terminal control sequences (ESC[2J clears the screen, OSC 52 writes
the clipboard), NUL (PostgreSQL refuses it, Word XML cannot hold it) and bidi overrides that
make a name read differently from what is stored. Imports refuse them (`find_control`);
everything shown on a terminal goes through `printable`, because a database may already hold
them from before they were refused.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except TAB/LF/CR, DEL, C1 controls, bidi embeddings/overrides/isolates,
# the Unicode line and paragraph separators.
_ALWAYS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROL = re.compile(f"[{_ALWAYS}\t\n\r]")
_CONTROL_NOT_BREAKS = re.compile(f"[{_ALWAYS}]")
# A whole escape sequence (CSI, OSC ... BEL/ST, or a two-character ESC x) is dropped on
# display, so `ESC[2J` does not leave a puzzling "[2J" behind.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST (or cut short)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[ -~]?"  # any other ESC and the character after it
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_BREAKS = re.compile(r"\r\n|[\t\n\r]")
REPLACEMENT = "\ufffd"


CONTROL_IN_TEXT = _CONTROL_NOT_BREAKS.search
"""For hot loops: a match means `find_control(text, allow_breaks=True)` would refuse it."""


def find_control(text: str, *, allow_breaks: bool = False) -> int | None:
    """Index of the first character an import must refuse, or None if the text is clean.

    `allow_breaks` keeps TAB, LF and CR (a quoted address may span lines in the export).
    """
    m = (_CONTROL_NOT_BREAKS if allow_breaks else _CONTROL).search(text)
    return m.start() if m else None


def describe_char(ch: str) -> str:
    """`U+001B (ESC)`-style name for an error message: the character itself is invisible."""
    names = {
        "\x00": "NUL",
        "\x07": "BEL",
        "\x08": "backspace",
        "\t": "tab",
        "\n": "line break",
        "\r": "carriage return",
        "\x1b": "ESC",
        "\x7f": "DEL",
    }
    name = names.get(ch) or unicodedata.name(ch, "control character")
    return f"U+{ord(ch):04X} ({name})"


def control_message(text: str, index: int) -> str:
    """The staff-facing reason for refusing `text`, naming the character and its position."""
    return (
        f"contains a control character {describe_char(text[index])} at character "
        f"{index + 1}: remove it in the clinical system or the file and export again"
    )


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` made safe to print on a terminal: escape sequences dropped, other controls shown
    as U+FFFD, tabs and line breaks as spaces (or kept, for multi-line messages)."""
    s = text if isinstance(text, str) else str(text)
    if not _CONTROL.search(s):
        return s
    s = _ESCAPE_SEQUENCE.sub("", s)
    if keep_newlines:
        s = s.replace("\r\n", "\n").replace("\t", " ").replace("\r", "\n")
    else:
        s = _BREAKS.sub(" ", s)
    return _CONTROL_NOT_BREAKS.sub(REPLACEMENT, s)
