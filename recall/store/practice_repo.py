"""The practice row: a single-practice database has one, a PCN database several."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from recall.store.models import Practice, practice_t

DEFAULT_ODS = "DEFAULT"


def get_or_create_practice(session: Session, ods_code: str | None = None) -> Practice:
    """The practice with this ODS code, or the first one, creating it when none exists."""
    q = select(Practice).order_by(practice_t.c.id)
    if ods_code:
        q = q.where(practice_t.c.ods_code == ods_code.upper())
    found = session.scalars(q).first()
    if found is not None:
        return found
    practice = Practice(ods_code=(ods_code or DEFAULT_ODS).upper(), name="")
    session.add(practice)
    session.flush()
    return practice
