"""Set-based look-ups of patients and registers, for imports and the demo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recall.store.models import event_t, patient_t, register_t


def patient_ids_by_nhs(session: Session, practice_id: int | None = None) -> dict[str, int]:
    """NHS number -> patient id, of one practice or of all. With several practices, the
    currently registered row wins."""
    p = patient_t
    q = select(p.c.nhs_number, p.c.id, p.c.deregistered_on).order_by(p.c.id)
    if practice_id is not None:
        q = q.where(p.c.practice_id == practice_id)
    rows = session.execute(q).all()
    out: dict[str, int] = {}
    current: set[str] = set()
    for nhs, pid, dereg in rows:
        if nhs in current:
            continue
        out[nhs] = pid
        if dereg is None:
            current.add(nhs)
    return out


def patient_practices(session: Session) -> dict[int, int]:
    """Patient id -> practice id."""
    rows = session.execute(select(patient_t.c.id, patient_t.c.practice_id))
    return {pid: practice for pid, practice in rows}


def patients_of_practice(
    session: Session, practice_id: int, fields: Sequence[str]
) -> dict[str, tuple[int, tuple[Any, ...]]]:
    """NHS number -> (id, values of `fields`) for one practice."""
    p = patient_t
    cols = [p.c[f] for f in fields]
    rows = session.execute(
        select(p.c.nhs_number, p.c.id, *cols).where(p.c.practice_id == practice_id)
    )
    return {row[0]: (row[1], tuple(row[2:])) for row in rows}


def register_entries(
    session: Session,
) -> dict[tuple[int, str], tuple[dt.date | None, dt.date | None]]:
    r = register_t
    rows = session.execute(select(r.c.patient_id, r.c.condition, r.c.diagnosed_on, r.c.resolved_on))
    return {(pid, cond): (d, res) for pid, cond, d, res in rows}


def counts(session: Session) -> dict[str, int]:
    """How many patients, register entries and events the database holds."""
    return {
        "patients": session.scalar(select(func.count()).select_from(patient_t)) or 0,
        "registers": session.scalar(select(func.count()).select_from(register_t)) or 0,
        "events": session.scalar(select(func.count()).select_from(event_t)) or 0,
    }


KEEP_ON_WIPE = ("alembic_version", "audit_log")


def wipe_all_rows(session: Session) -> list[str]:
    """Delete every row of every table except the migration marker and the audit log.

    Only for rebuilding a demo database: tables are found by reflection (children first), so
    tables added by later migrations are included. Returns the tables emptied.
    """
    from sqlalchemy import MetaData, delete

    meta = MetaData()
    meta.reflect(bind=session.connection())
    emptied = []
    for table in reversed(meta.sorted_tables):
        if table.name in KEEP_ON_WIPE:
            continue
        session.execute(delete(table))
        emptied.append(table.name)
    return emptied


def patient_labels(
    session: Session, patient_ids: Sequence[int]
) -> dict[int, tuple[str, str, str, dt.date]]:
    """Patient id -> (NHS number, given name, family name, date of birth), for lists."""
    p = patient_t
    out: dict[int, tuple[str, str, str, dt.date]] = {}
    ids = list(patient_ids)
    for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        rows = session.execute(
            select(
                p.c.id, p.c.nhs_number, p.c.given_name, p.c.family_name, p.c.date_of_birth
            ).where(p.c.id.in_(chunk))
        )
        for pid, nhs, given, family, dob in rows:
            out[pid] = (nhs, given, family, dob)
    return out
