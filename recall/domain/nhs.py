"""NHS numbers: normalise what staff type or exports contain, and check the digit."""

from __future__ import annotations

import unicodedata

import nhs_number  # type: ignore[import-untyped,unused-ignore]


class InvalidNhsNumber(ValueError):
    """Raised with a message that never repeats the full number (it is identifying)."""


_SEPARATORS = frozenset(" -\u00a0\u2010\u2011\u2012\u2013\u2212\u3000")


def ascii_digits(raw: str) -> str:
    """Unicode decimal digits (full-width, Arabic-Indic, ...) as ASCII, the rest unchanged.

    `str.isdigit` and `int` accept `９４３４…` and `٩٤٣٤…`: unless they are folded to ASCII
    first, one person typed three ways is three patients.
    """
    if raw.isascii():
        return raw
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in raw
    )


def normalise_nhs_number(raw: str) -> str:
    """Strip spaces and dashes; return the 10 ASCII digits or raise InvalidNhsNumber."""
    digits = "".join(ch for ch in ascii_digits(raw.strip()) if ch not in _SEPARATORS)
    if not digits.isascii():
        raise InvalidNhsNumber("an NHS number is 10 digits 0-9 (no other characters)")
    if len(digits) != 10 or not digits.isdigit():
        raise InvalidNhsNumber("an NHS number has 10 digits")
    if not nhs_number.is_valid(digits):  # type: ignore[attr-defined,unused-ignore]
        raise InvalidNhsNumber("the NHS number's check digit is wrong")
    return digits


def is_valid_nhs_number(raw: str) -> bool:
    try:
        normalise_nhs_number(raw)
    except InvalidNhsNumber:
        return False
    return True


def format_nhs_number(digits: str) -> str:
    """Show as 3-3-4, the way it is printed on NHS letters."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits


def mask_nhs_number(digits: str) -> str:
    """For logs and error messages seen outside the app: last 4 digits only."""
    return f"*** *** {digits[-4:]}" if len(digits) >= 4 else "***"
