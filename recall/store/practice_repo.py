"""The practice row: a single-practice database has one, a PCN database several."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from recall.store.models import Practice, batch_t, patient_t, practice_t

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


def all_practices(session: Session) -> list[tuple[int, str, str]]:
    """(id, ODS code, name) of every practice, ordered by ODS code."""
    rows = session.execute(
        select(practice_t.c.id, practice_t.c.ods_code, practice_t.c.name).order_by(
            practice_t.c.ods_code
        )
    )
    return [(int(i), str(ods), str(name or "")) for i, ods, name in rows]


def find_practice(session: Session, ods_code: str) -> tuple[int, str, str] | None:
    """(id, ODS code, name) of the practice with this ODS code, if it is set up."""
    row = session.execute(
        select(practice_t.c.id, practice_t.c.ods_code, practice_t.c.name).where(
            practice_t.c.ods_code == ods_code.upper()
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2] or ""))


def practice_by_id(session: Session, practice_id: int) -> tuple[int, str, str] | None:
    """(id, ODS code, name) of the practice with this id."""
    row = session.execute(
        select(practice_t.c.id, practice_t.c.ods_code, practice_t.c.name).where(
            practice_t.c.id == practice_id
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2] or ""))


def insert_practice(session: Session, ods_code: str, name: str) -> int:
    """A new practice row; the caller has checked the ODS code is free."""
    practice = Practice(ods_code=ods_code.upper(), name=name)
    session.add(practice)
    session.flush()
    assert practice.id is not None
    return practice.id


def rename_practice(session: Session, practice_id: int, *, ods_code: str, name: str) -> None:
    """Give a practice its ODS code and name (the placeholder practice becoming a real one)."""
    session.execute(
        update(practice_t)
        .where(practice_t.c.id == practice_id)
        .values(ods_code=ods_code.upper(), name=name)
    )


def patient_count(session: Session, practice_id: int) -> int:
    """How many patients a practice holds."""
    q = select(func.count()).select_from(patient_t).where(patient_t.c.practice_id == practice_id)
    return int(session.execute(q).scalar_one())


def batch_practice(session: Session, batch_id: int) -> int | None:
    """The practice a batch belongs to (None: no such batch)."""
    q = select(batch_t.c.practice_id).where(batch_t.c.id == batch_id)
    found = session.execute(q).scalar()
    return None if found is None else int(found)
