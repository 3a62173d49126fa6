"""Clinical code systems, told apart by the shape of the code."""

from __future__ import annotations

import re
from enum import StrEnum

_SNOMED = re.compile(r"^\d{6,18}$")
_CTV3 = re.compile(r"^[A-Za-z0-9.]{5}$")
# What Excel makes of a long all-digit code it took for a number: 1.11092E+15 (the digits
# past the 6th are lost) or 1109921000000106.0. A Read code never has a digit after a dot
# (dots only pad its end), and never a sign, so neither shape is a real code.
_EXCEL_NUMBER = re.compile(r"^\s*\d+(?:[.,]\d+)?[eE][+-]\d+\s*$|^\s*\d+[.,]0+\s*$")

EXCEL_HINT = (
    "was changed by Excel (it turned the code into a number): open the export as text, "
    "or export again without opening it in Excel"
)


class CodeSystem(StrEnum):
    SNOMED = "snomed"
    CTV3 = "ctv3"
    LOCAL = "local"


def detect_code_system(code: str) -> CodeSystem:
    """All digits (6-18) is SNOMED CT; five letters/digits/dots is CTV3/Read; else local."""
    code = code.strip()
    if _SNOMED.match(code):
        return CodeSystem.SNOMED
    if _CTV3.match(code):
        return CodeSystem.CTV3
    return CodeSystem.LOCAL


def looks_excel_mangled(code: str) -> bool:
    """True for `1.11092E+15`, `1.10992E+15`, `1109921000000106.0`: a code Excel rewrote."""
    return bool(_EXCEL_NUMBER.match(code))


def verhoeff_valid(code: str) -> bool:
    """SNOMED CT identifiers end in a Verhoeff check digit; catches typed-in codes."""
    if not code.isdigit():
        return False
    d = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
        (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
        (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
        (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
        (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
        (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
        (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
        (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
        (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
    )
    p = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
        (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
        (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
        (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
        (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
        (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
        (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
    )
    c = 0
    for i, ch in enumerate(reversed(code)):
        c = d[c][p[i % 8][int(ch)]]
    return c == 0
