"""Screening what staff type before it goes into the append-only audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from recall.domain.free_text import name_candidates, nhs_shaped
from recall.domain.text import describe_char, find_control
from recall.services.errors import RecallError
from recall.store.name_lookup import mentions_patient

MAX_FREE_TEXT = 500
_REPHRASE = (
    "rephrase it without details that identify a patient (the audit log can never be "
    "changed; the batch and patient ids are recorded already)"
)


class IdentifyingText(RecallError):
    """Free text refused because it would put patient details in the audit log."""


def screen_free_text(session: Session, text: str, what: str = "the reason") -> str:
    """`text` stripped, or IdentifyingText: control characters, an NHS-number-shaped string,
    or a patient's name (given and family name, or a title and family name)."""
    value = (text or "").strip()
    if len(value) > MAX_FREE_TEXT:
        raise IdentifyingText(f"{what} is too long (at most {MAX_FREE_TEXT} characters)")
    bad = find_control(value)
    if bad is not None:
        raise IdentifyingText(
            f"{what} contains a control character {describe_char(value[bad])}: type plain text"
        )
    if nhs_shaped(value):
        raise IdentifyingText(f"{what} contains what looks like an NHS number: {_REPHRASE}")
    words, titled = name_candidates(value)
    if mentions_patient(session, words, titled):
        raise IdentifyingText(f"{what} contains a patient's name: {_REPHRASE}")
    return value
