"""The coded journal as the rules see it: imported events plus live codes this tool recorded.

Both the PCA rule and the backfill planner read "which of these codes does each patient have
on which dates"; this is the one place that query lives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, and_, literal, select, union_all
from sqlalchemy.orm import Session

from recall.store.models import event_t, patient_t, recorded_code_t


class CodedEntry(NamedTuple):
    patient_id: int
    date: dt.date
    code: str
    origin: str  # import | send | backfill


def iter_coded_entries(
    session: Session,
    *,
    practice_id: int | None,
    codes: Collection[str],
    start: dt.date,
    end: dt.date,
    patient_ids: Collection[int] | None = None,
    within: Select[Any] | None = None,
    raw: bool = False,
) -> Iterator[CodedEntry]:
    """Entries with one of `codes` dated start..end, imported or recorded (voided excluded).

    The same (patient, date, code) may come back twice (imported and recorded): callers
    work with sets of dates. `within`: SQL selecting the patients to read (a superset is
    fine), instead of thousands of ids. `practice_id` None: every practice's entries; `raw`:
    the database rows (same columns, by position) instead of `CodedEntry`s.
    """
    if not codes:
        return
    code_list = sorted(set(codes))
    e, r, p = event_t, recorded_code_t, patient_t
    ev = select(e.c.patient_id, e.c.date, e.c.code, literal("import").label("origin")).where(
        and_(e.c.code.in_(code_list), e.c.date >= start, e.c.date <= end)
    )
    rc = select(r.c.patient_id, r.c.date, r.c.code, r.c.origin).where(
        and_(
            r.c.code.in_(code_list),
            r.c.date >= start,
            r.c.date <= end,
            r.c.voided.is_(False),
        )
    )
    if practice_id is not None:
        ev = ev.join(p, p.c.id == e.c.patient_id).where(p.c.practice_id == practice_id)
        rc = rc.join(p, p.c.id == r.c.patient_id).where(p.c.practice_id == practice_id)
    if within is not None:
        ev = ev.where(e.c.patient_id.in_(within))
        rc = rc.where(r.c.patient_id.in_(within))
    elif patient_ids is not None:
        ids = sorted(set(patient_ids))
        ev = ev.where(e.c.patient_id.in_(ids))
        rc = rc.where(r.c.patient_id.in_(ids))
    result = session.execute(union_all(ev, rc).execution_options(yield_per=20_000))
    if raw:  # rows as they come (same names and positions): no object per row
        yield from cast(Iterator[CodedEntry], result)
        return
    for row in result:
        yield CodedEntry(row[0], row[1], row[2], row[3])


def iter_readings(
    session: Session,
    *,
    practice_id: int | None,
    codes: Collection[str],
    start: dt.date,
    end: dt.date,
    patient_ids: Collection[int] | None = None,
    within: Select[Any] | None = None,
) -> Iterator[tuple[int, dt.date, str, str | None]]:
    """Imported events with one of `codes` dated start..end, with their value (may be None).

    Readings come from the clinical system only: this tool never records one.
    """
    if not codes:
        return
    e, p = event_t, patient_t
    q = select(e.c.patient_id, e.c.date, e.c.code, e.c.value).where(
        e.c.code.in_(sorted(set(codes))),
        e.c.date >= start,
        e.c.date <= end,
    )
    if practice_id is not None:  # None: every practice's readings
        q = q.join(p, p.c.id == e.c.patient_id).where(p.c.practice_id == practice_id)
    if within is not None:
        q = q.where(e.c.patient_id.in_(within))
    elif patient_ids is not None:
        q = q.where(e.c.patient_id.in_(sorted(set(patient_ids))))
    for row in session.execute(q.execution_options(yield_per=20_000)):
        yield row[0], row[1], row[2], row[3]
