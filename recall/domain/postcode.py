"""UK postcode shape check (not an address lookup: nothing is sent anywhere)."""

from __future__ import annotations

import re

_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]"
    r"([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(raw: str) -> str:
    """Upper-case with one space before the inward code; unusual values are kept as given."""
    compact = re.sub(r"\s+", "", raw.strip().upper())
    if len(compact) < 5:
        return raw.strip()
    return f"{compact[:-3]} {compact[-3:]}"


def is_valid_postcode(raw: str) -> bool:
    return bool(_POSTCODE.match(normalise_postcode(raw)))
