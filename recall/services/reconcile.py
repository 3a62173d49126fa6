"""Reconciliation: which codes this tool dated are now in the clinical system's export.

After staff bulk-add the worksheet codes and re-import the clinical system's events, each
live recorded code is matched on (patient, code, date) — a CTV3 code and its SNOMED CT
equivalent count as the same code — and marked reconciled. What is left is still missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update

from recall.services.catalogue import load_catalogue
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import resolve_practice_id
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.models import event_t, patient_t, recorded_code_t


@dataclass(frozen=True)
class MissingCode:
    recorded_code_id: int
    patient_id: int
    nhs_number: str
    family_name: str
    given_name: str
    code: str
    term: str
    date: dt.date
    condition: str | None
    origin: str  # send | backfill
    batch_id: int | None
    backfill_run_id: int | None


@dataclass(frozen=True)
class ReconcileResult:
    matched_now: int
    reconciled_total: int
    missing: list[MissingCode]


def _missing(session: Any, practice_id: int) -> list[MissingCode]:
    r, p = recorded_code_t, patient_t
    q = (
        select(
            r.c.id,
            r.c.patient_id,
            p.c.nhs_number,
            p.c.family_name,
            p.c.given_name,
            r.c.code,
            r.c.term,
            r.c.date,
            r.c.condition,
            r.c.origin,
            r.c.batch_id,
            r.c.backfill_run_id,
        )
        .join(p, p.c.id == r.c.patient_id)
        .where(
            p.c.practice_id == practice_id,
            r.c.voided.is_(False),
            r.c.reconciled.is_(False),
        )
        .order_by(r.c.date, r.c.code, p.c.family_name, p.c.given_name)
    )
    return [MissingCode(*row) for row in session.execute(q)]


def missing_codes(db: Database, *, practice_id: int | None = None) -> list[MissingCode]:
    """Live recorded codes not yet seen in an imported export (the to-do list)."""
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        assert pid is not None
        return _missing(session, pid)


def reconcile(
    db: Database, *, operator: str | None = None, practice_id: int | None = None
) -> ReconcileResult:
    """Mark recorded codes found in imported events (same patient, date and code or its
    equivalent in the practice's code profile) as reconciled; return what is still missing.
    Safe to run after every import: it only ever marks more codes."""
    r, e, p = recorded_code_t, event_t, patient_t
    with db.write() as session:
        pid = resolve_practice_id(session, practice_id)
        assert pid is not None
        profile = load_catalogue(session, pid).profile
        candidates = session.execute(
            select(r.c.id, r.c.code, e.c.code)
            .join(p, p.c.id == r.c.patient_id)
            .join(e, and_(e.c.patient_id == r.c.patient_id, e.c.date == r.c.date))
            .where(
                p.c.practice_id == pid,
                r.c.voided.is_(False),
                r.c.reconciled.is_(False),
            )
        )
        matched = sorted(
            {rid for rid, mine, theirs in candidates if profile.same_code(mine, theirs)}
        )
        if matched:
            session.execute(
                update(r).where(r.c.id == bindparam("rid")).values(reconciled=True),
                [{"rid": rid} for rid in matched],
            )
        total = session.execute(
            select(func.count())
            .select_from(r.join(p, p.c.id == r.c.patient_id))
            .where(p.c.practice_id == pid, r.c.voided.is_(False), r.c.reconciled.is_(True))
        ).scalar_one()
        missing = _missing(session, pid)
        append_audit(
            session,
            operator=operator or current_operator(),
            action="codes.reconcile",
            practice_id=pid,
            details={"matched": len(matched), "missing": len(missing)},
        )
    return ReconcileResult(len(matched), int(total), missing)
